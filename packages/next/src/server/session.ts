import { cookies, headers } from "next/headers";
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import type { ConfigSource } from "../config.js";
import { SESSION_COOKIE } from "../constants.js";
import { TesseraError, isProblem } from "../errors.js";
import { signInUrl } from "../redirect.js";
import type { SessionData, User } from "../types.js";
import { callTesseraWith, type TesseraCall } from "./request.js";
import { parseJson } from "./upstream.js";

function isSessionData(value: unknown): value is SessionData {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.user === "object" && record.user !== null && typeof record.session === "object";
}

const SESSION_CALL: TesseraCall = { method: "GET", path: "/v1/session", forwardIntent: false };

export interface SessionFunctions {
  /**
   * The signed-in user and session, or null when signed out. One tessera call
   * per request (React `cache`). Throws `TesseraError` (`upstream_*`) when
   * tessera is down: an outage is never mistaken for "signed out".
   */
  getSession(): Promise<SessionData | null>;
  /** The signed-in user, or a redirect to the sign-in page with `?next=returnTo`. */
  requireUser(returnTo?: string): Promise<User>;
  /**
   * The signed-in user when their `roles` include `role`. Signed out: a
   * redirect to the sign-in page with `?next=returnTo`, as `requireUser`.
   * Signed in without the role: `notFound()` (a 404, so the page does not
   * even say that it exists; signing in again would not help). Roles come
   * from `getSession()`, so a change made in tessera counts on the next
   * request. Hiding a link is not enough: call this in every page, layout,
   * route handler and server action that needs the role.
   */
  requireRole(role: string, returnTo?: string): Promise<User>;
}

export function createSessionFunctions(config: ConfigSource): SessionFunctions {
  const getSession = cache(async (): Promise<SessionData | null> => {
    const store = await cookies();
    if (!store.get(SESSION_COOKIE)?.value) return null;
    // callTessera without its own awaits: this runs on every render.
    const result = await callTesseraWith(config(), SESSION_CALL, await headers(), store);
    const body = parseJson(result.body);
    if (result.status === 200 && isSessionData(body)) return body;
    if (result.status === 401) return null;
    throw new TesseraError(result.status === 503 ? "upstream_unavailable" : "upstream_error", `GET /v1/session answered ${result.status}`, {
      status: result.status,
      ...(isProblem(body) ? { problem: body } : {}),
    });
  });

  async function requireUser(returnTo?: string): Promise<User> {
    const session = await getSession();
    if (!session) redirect(signInUrl(config().paths.signInPath, returnTo));
    return session.user;
  }

  async function requireRole(role: string, returnTo?: string): Promise<User> {
    const user = await requireUser(returnTo);
    if (!Array.isArray(user.roles) || !user.roles.includes(role)) notFound();
    return user;
  }

  return { getSession, requireUser, requireRole };
}
