import "server-only";
import { createTessera, type Tessera } from "./tessera.js";

/**
 * The kit with every default: the paths `/api/auth` and `/login`, sign-in
 * and sign-out landing on `/` and `/login`, and `TESSERA_URL`,
 * `TESSERA_BFF_KEY` and `APP_ORIGIN` read from the environment on first use
 * (never at import, so `next build` needs none of them). One instance in the
 * process: `@tessera/next/route` and `@tessera/next/actions` use it too, so
 * they share its config and its access-token cache.
 */
export const tessera: Tessera = createTessera();

/**
 * `tessera.getActivity()` of the default instance: the signed-in user's last
 * 50 security events, newest first. An app with its own `createTessera(...)`
 * calls that instance's `getActivity()` instead.
 */
export function getActivity(): ReturnType<Tessera["getActivity"]> {
  return tessera.getActivity();
}

/**
 * `tessera.requireRole(role, returnTo)` of the default instance: the user when
 * they have `role`; signed out, a redirect to sign in; signed in without it,
 * `notFound()`. An app with its own `createTessera(...)` calls that
 * instance's `requireRole` instead.
 */
export function requireRole(role: string, returnTo?: string): ReturnType<Tessera["requireRole"]> {
  return tessera.requireRole(role, returnTo);
}
