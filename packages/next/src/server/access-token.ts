import { createHash } from "node:crypto";
import { cookies } from "next/headers";
import { LRUCache } from "lru-cache";
import type { ResolvedConfig } from "../config.js";
import { SESSION_COOKIE } from "../constants.js";
import { TesseraError } from "../errors.js";
import { callTessera } from "./request.js";
import { parseJson } from "./upstream.js";

/** Renew this long before the token's own expiry, so a token is never sent stale. */
const EXPIRY_LEEWAY_MS = 30_000;

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface AccessTokenOptions {
  /** Clock, replaceable in tests. */
  now?: () => number;
  /** Most sessions kept in the cache (default 1000). */
  maxEntries?: number;
}

/**
 * `getAccessToken()`: a short-lived JWT for the signed-in session
 * (`grant_type=session` on `/v1/token`), cached per session until shortly
 * before it expires. The cache key is a hash of the session cookie, so the
 * cache never holds a usable session token.
 */
export function createAccessTokenGetter(config: () => ResolvedConfig, options: AccessTokenOptions = {}): () => Promise<string> {
  const now = options.now ?? Date.now;
  const tokens = new LRUCache<string, CachedToken>({ max: options.maxEntries ?? 1000 });

  return async function getAccessToken(): Promise<string> {
    const session = (await cookies()).get(SESSION_COOKIE)?.value;
    if (!session) throw new TesseraError("unauthenticated", "no session cookie");
    const key = createHash("sha256").update(session).digest("base64url");
    const cached = tokens.get(key);
    if (cached && cached.expiresAt > now()) return cached.token;

    const result = await callTessera(config(), {
      method: "POST",
      path: "/v1/token",
      form: { grant_type: "session" },
      forwardIntent: false,
    });
    const body = parseJson(result.body);
    const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    if (result.status === 200 && typeof record.access_token === "string" && typeof record.expires_in === "number") {
      const expiresAt = now() + record.expires_in * 1000 - EXPIRY_LEEWAY_MS;
      if (expiresAt > now()) tokens.set(key, { token: record.access_token, expiresAt });
      return record.access_token;
    }
    tokens.delete(key);
    if (result.status === 401 || record.error === "invalid_grant") {
      throw new TesseraError("unauthenticated", "the session cannot be exchanged for a token", { status: result.status });
    }
    throw new TesseraError(result.status >= 500 ? "upstream_unavailable" : "upstream_error", `POST /v1/token answered ${result.status}`, {
      status: result.status,
    });
  };
}
