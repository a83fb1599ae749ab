import { createHash } from "node:crypto";
import { cookies } from "next/headers";
import { LRUCache } from "lru-cache";
import type { ConfigSource } from "../config.js";
import { SESSION_COOKIE } from "../constants.js";
import { TesseraError, isProblem } from "../errors.js";
import type { SessionData } from "../types.js";
import { callTessera } from "./request.js";
import { parseJson } from "./upstream.js";

/** Renew this long before the token's own expiry, so a token is never sent stale. */
const EXPIRY_LEEWAY_MS = 30_000;

interface CachedToken {
  token: string;
  /** The session the token was minted for (its `sid`). */
  sid: string;
  expiresAt: number;
}

export interface AccessTokenOptions {
  /** Clock, replaceable in tests. */
  now?: () => number;
  /** Most sessions kept in the cache (default 1000). */
  maxEntries?: number;
}

function unauthenticated(message: string, status?: number): TesseraError {
  return new TesseraError("unauthenticated", message, status === undefined ? {} : { status });
}

/**
 * `getAccessToken()`: a short-lived JWT for the signed-in session
 * (`grant_type=session` on `/v1/token`, cookie + CSRF header), cached per
 * session until shortly before it expires.
 *
 * - The cache key is a hash of the session cookie: one browser's token is never
 *   served to another, and the cache never holds a usable session token.
 * - Every call checks the session is still live through `getSession()` (one
 *   tessera call per request, shared with `requireUser`), so a session ended
 *   anywhere (sign-out, revoked device, password change) stops yielding tokens
 *   at once, and a cached token is used only while its `sid` is that session.
 * - Concurrent calls for one session share a single `/v1/token` request.
 */
export function createAccessTokenGetter(
  config: ConfigSource,
  getSession: () => Promise<SessionData | null>,
  options: AccessTokenOptions = {},
): () => Promise<string> {
  const now = options.now ?? Date.now;
  const tokens = new LRUCache<string, CachedToken>({ max: options.maxEntries ?? 1000 });
  const pending = new Map<string, Promise<CachedToken>>();

  async function mint(key: string, sid: string): Promise<CachedToken> {
    const result = await callTessera(config(), {
      method: "POST",
      path: "/v1/token",
      form: { grant_type: "session" },
      forwardIntent: false,
    });
    const body = parseJson(result.body);
    const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    const expiresIn = record.expires_in;
    if (result.status === 200 && typeof record.access_token === "string" && typeof expiresIn === "number" && expiresIn > 0) {
      const entry = { token: record.access_token, sid, expiresAt: now() + expiresIn * 1000 - EXPIRY_LEEWAY_MS };
      if (entry.expiresAt > now()) tokens.set(key, entry);
      return entry;
    }
    tokens.delete(key);
    const oauthError = typeof record.error === "string" ? record.error : undefined;
    if (result.status === 401 || oauthError === "invalid_grant") {
      throw unauthenticated("the session cannot be exchanged for a token", result.status);
    }
    const code = result.status >= 500 || result.status === 429 ? "upstream_unavailable" : "upstream_error";
    throw new TesseraError(code, `POST /v1/token answered ${result.status}${oauthError ? ` ${oauthError}` : ""}`, {
      status: result.status,
      ...(isProblem(body) ? { problem: body } : {}),
    });
  }

  return async function getAccessToken(): Promise<string> {
    const cookie = (await cookies()).get(SESSION_COOKIE)?.value;
    if (!cookie) throw unauthenticated("no session cookie");
    const key = createHash("sha256").update(cookie).digest("base64url");
    const session = await getSession();
    if (!session) {
      tokens.delete(key);
      throw unauthenticated("the session has ended");
    }
    const sid = session.session.id;
    const cached = tokens.get(key);
    if (cached && cached.sid === sid && cached.expiresAt > now()) return cached.token;

    let flight = pending.get(key);
    if (!flight) {
      flight = mint(key, sid).finally(() => pending.delete(key));
      pending.set(key, flight);
    }
    return (await flight).token;
  };
}
