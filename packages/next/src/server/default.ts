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
