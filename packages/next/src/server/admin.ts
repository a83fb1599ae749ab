import type { ConfigSource } from "../config.js";
import { TesseraError, isProblem } from "../errors.js";
import type { AdminUser, AdminUserDetail, AdminUserPage, AuditEvent, AuditPage, DeviceSession, SessionData } from "../types.js";
import { auditEventOf } from "./activity.js";
import { isMfaStatus } from "./mfa.js";
import { isIdentity } from "./oauth.js";
import { callTessera } from "./request.js";
import { parseJson } from "./upstream.js";

/**
 * The admin API (`/v1/admin/*`, DESIGN.md "Roles, admin and audit") for a
 * signed-in administrator, through the BFF like every other call: the
 * session cookie, CSRF on writes, the BFF key. tessera decides: the user
 * needs the `admin` role and a session that proved a second factor (`amr`
 * has `mfa`). The admin key (`Tessera-Admin-Key`) is for server-to-server
 * callers only and is never sent from here.
 *
 * These read; the server actions that change users are in admin-actions.ts.
 */
export interface AdminReaders {
  /**
   * `GET /v1/admin/users`: users whose email or name contains `query` (any
   * case; all users without one), oldest first, a page at a time (pass
   * `next_cursor` back as `cursor`; `limit` 1 to 100, default 50).
   * Throws `TesseraError`: `unauthenticated` when signed out,
   * `second_factor_required` for an administrator whose session has no
   * second factor, `admin_required` for anyone else, `request_failed` for
   * a query, cursor or limit tessera refuses (422, `problem.errors` says
   * which), `upstream_*` when tessera is down or answers something else.
   */
  listUsers(options?: AdminUserQuery): Promise<AdminUserPage>;
  /**
   * `GET /v1/admin/users/{id}`: the user with their linked providers, live
   * sessions and second factors; null when there is no such user (or `id`
   * is not a user id). Throws as `listUsers`.
   */
  getUser(id: string): Promise<AdminUserDetail | null>;
  /**
   * `GET /v1/admin/audit`: the audit log, newest first, a page at a time;
   * only the events of user id `user` and of kind `kind` when given. Throws
   * as `listUsers` (`request_failed` for a malformed user id, an unknown
   * kind or a cursor tessera did not give).
   */
  auditLog(options?: AuditQuery): Promise<AuditPage>;
}

export interface AdminUserQuery {
  /** Part of the email or name, any case. */
  query?: string | undefined;
  /** `next_cursor` of the page before. */
  cursor?: string | undefined;
  /** 1 to 100; tessera's default (50) when left out. */
  limit?: number | undefined;
}

export interface AuditQuery {
  /** A user id: only that user's events. */
  user?: string | undefined;
  /** An event kind (`sign_in`, `user_disabled`, …): only events of that kind. */
  kind?: string | undefined;
  /** `next_cursor` of the page before. */
  cursor?: string | undefined;
  /** 1 to 100; tessera's default (50) when left out. */
  limit?: number | undefined;
}

/** Reads the signed-in session (React-cached: no second call in a render). */
export type SessionSource = () => Promise<SessionData | null>;

const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `id` can be a tessera user id (a UUID). Checked before it goes into
 * a path, so no value from a URL or a form can point a call elsewhere.
 */
export function isUserId(id: string): boolean {
  return USER_ID.test(id);
}

/** `/v1/admin/users/{id}` and below, for an id {@link isUserId} accepted. */
export function adminUserPath(id: string, rest = ""): string {
  return `/v1/admin/users/${encodeURIComponent(id.toLowerCase())}${rest}`;
}

/**
 * Why tessera answered `admin_required`: it says so only in words, so the
 * session decides. An administrator (role `admin`) whose session has no
 * `mfa` lacks the second factor; anyone else lacks the role.
 */
export async function adminRefusal(getSession: SessionSource): Promise<"admin_required" | "second_factor_required"> {
  let session: SessionData | null;
  try {
    session = await getSession();
  } catch {
    return "admin_required";
  }
  const roles = session?.user.roles;
  const amr = session?.session.amr;
  if (Array.isArray(roles) && roles.includes("admin") && !(Array.isArray(amr) && amr.includes("mfa"))) return "second_factor_required";
  return "admin_required";
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

export function isAdminUser(value: unknown): value is AdminUser {
  const user = record(value);
  return (
    user !== null &&
    typeof user.id === "string" &&
    typeof user.email === "string" &&
    (typeof user.name === "string" || user.name === null) &&
    typeof user.email_verified === "boolean" &&
    Array.isArray(user.roles) &&
    user.roles.every((role) => typeof role === "string") &&
    typeof user.created_at === "string" &&
    typeof user.disabled === "boolean"
  );
}

function isDeviceSession(value: unknown): value is DeviceSession {
  const session = record(value);
  return (
    session !== null &&
    typeof session.id === "string" &&
    typeof session.created_at === "string" &&
    typeof session.last_seen_at === "string" &&
    typeof session.expires_at === "string" &&
    (typeof session.user_agent === "string" || session.user_agent === null) &&
    (typeof session.ip === "string" || session.ip === null) &&
    typeof session.current === "boolean"
  );
}

function nextCursorOf(body: Record<string, unknown>): string | null | undefined {
  const cursor = body.next_cursor;
  return typeof cursor === "string" || cursor === null ? cursor : undefined;
}

function userPageOf(value: unknown): AdminUserPage | undefined {
  const body = record(value);
  const next = body && nextCursorOf(body);
  if (!body || next === undefined || !Array.isArray(body.users) || !body.users.every(isAdminUser)) return undefined;
  return { users: body.users, next_cursor: next };
}

function userDetailOf(value: unknown): AdminUserDetail | undefined {
  const body = record(value);
  if (
    !body ||
    !isAdminUser(body.user) ||
    !Array.isArray(body.identities) ||
    !body.identities.every(isIdentity) ||
    !Array.isArray(body.sessions) ||
    !body.sessions.every(isDeviceSession) ||
    !isMfaStatus(body.second_factors)
  ) {
    return undefined;
  }
  return { user: body.user, identities: body.identities, sessions: body.sessions, second_factors: body.second_factors };
}

function auditPageOf(value: unknown): AuditPage | undefined {
  const body = record(value);
  const next = body && nextCursorOf(body);
  if (!body || next === undefined || !Array.isArray(body.events)) return undefined;
  const events = body.events.map(auditEventOf);
  if (!events.every((event): event is AuditEvent => event !== null)) return undefined;
  return { events, next_cursor: next };
}

/** `path?name=value…` with the values that are set (an empty string is not). */
function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(name, String(value));
  }
  const query = search.toString();
  return query === "" ? path : `${path}?${query}`;
}

export function createAdminReaders(config: ConfigSource, getSession: SessionSource): AdminReaders {
  /** A GET of the admin API, its answer read by `pick` (undefined: not that shape); a 404 is `onNotFound()` when given. */
  async function get<T>(path: string, pick: (body: unknown) => T | undefined, onNotFound?: () => T): Promise<T> {
    const result = await callTessera(config(), { method: "GET", path, forwardIntent: false });
    const body = parseJson(result.body);
    if (result.status === 200) {
      const picked = pick(body);
      if (picked !== undefined) return picked;
    }
    if (result.status === 404 && onNotFound) return onNotFound();
    const problem = isProblem(body) ? { problem: body } : {};
    const where = `GET ${path.split("?", 1)[0] ?? path}`;
    if (result.status === 401) throw new TesseraError("unauthenticated", `${where}: not signed in`, { status: 401, ...problem });
    if (result.status === 403 && isProblem(body) && body.code === "admin_required") {
      const code = await adminRefusal(getSession);
      const why = code === "second_factor_required" ? "sign in with a second factor first" : "administrators only";
      throw new TesseraError(code, `${where}: ${why}`, { status: 403, ...problem });
    }
    if (result.status === 422) throw new TesseraError("request_failed", `${where}: tessera refused the query`, { status: 422, ...problem });
    const code = result.status >= 500 || result.status === 429 ? "upstream_unavailable" : "upstream_error";
    throw new TesseraError(code, `${where} answered ${result.status}`, { status: result.status, ...problem });
  }

  async function listUsers(options: AdminUserQuery = {}): Promise<AdminUserPage> {
    const path = withQuery("/v1/admin/users", { query: options.query?.trim(), cursor: options.cursor, limit: options.limit });
    return get(path, userPageOf);
  }

  async function getUser(id: string): Promise<AdminUserDetail | null> {
    if (!isUserId(id)) return null;
    return get<AdminUserDetail | null>(adminUserPath(id), userDetailOf, () => null);
  }

  async function auditLog(options: AuditQuery = {}): Promise<AuditPage> {
    const path = withQuery("/v1/admin/audit", { user_id: options.user?.trim(), kind: options.kind?.trim(), cursor: options.cursor, limit: options.limit });
    return get(path, auditPageOf);
  }

  return { listUsers, getUser, auditLog };
}
