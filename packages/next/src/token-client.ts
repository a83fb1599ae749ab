import { TesseraError, isProblem } from "./errors.js";
import type { TokenResponse } from "./types.js";

/**
 * A framework-agnostic client for `/v1/token` (SPAs, scripts, CLIs): it holds
 * an access/refresh pair, sends `Authorization: Bearer`, and on a 401 refreshes
 * once (single flight: concurrent 401s share one refresh) and retries once.
 */

export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Where tokens live. Sync or async, so `localStorage`, files or keychains all fit. */
export interface TokenStorage {
  get(): TokenSet | null | Promise<TokenSet | null>;
  set(tokens: TokenSet): void | Promise<void>;
  clear(): void | Promise<void>;
}

export interface TokenClientOptions {
  /** The token endpoint, e.g. `https://auth.example.com/v1/token`. */
  tokenUrl: string;
  /** The revocation endpoint (default: `${tokenUrl}/revoke`). */
  revokeUrl?: string;
  storage?: TokenStorage;
  fetch?: typeof fetch;
  /** Refresh this many ms before `expires_in` runs out (default 10 s). */
  expiryLeewayMs?: number;
  /** Extra headers on token requests (e.g. a BFF key when called server-side). */
  headers?: Record<string, string>;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

export interface TokenClient {
  /** `grant_type=password`; stores and returns the new pair. */
  signInWithPassword(username: string, password: string): Promise<TokenSet>;
  /** A valid access token, refreshing first when it is about to expire; null when signed out. */
  getAccessToken(): Promise<string | null>;
  /** Forces a refresh; concurrent callers share one request. */
  refresh(): Promise<TokenSet>;
  /** `fetch` with the bearer token; on 401 refreshes once and retries once. */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** Revokes the refresh token family (RFC 7009) and clears storage. */
  signOut(): Promise<void>;
}

/** In-memory storage (the default). */
export function memoryStorage(initial: TokenSet | null = null): TokenStorage {
  let current = initial;
  return {
    get: () => current,
    set: (tokens) => {
      current = tokens;
    },
    clear: () => {
      current = null;
    },
  };
}

/** Storage on top of a Web Storage object (`localStorage`, `sessionStorage`). */
export function webStorage(store: Storage, key = "tessera.tokens"): TokenStorage {
  return {
    get: () => {
      const raw = store.getItem(key);
      if (raw === null) return null;
      try {
        const parsed: unknown = JSON.parse(raw);
        return isTokenSet(parsed) ? parsed : null;
      } catch {
        return null;
      }
    },
    set: (tokens) => store.setItem(key, JSON.stringify(tokens)),
    clear: () => store.removeItem(key),
  };
}

function isTokenSet(value: unknown): value is TokenSet {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.accessToken === "string" &&
    typeof record.expiresAt === "number" &&
    (record.refreshToken === undefined || typeof record.refreshToken === "string")
  );
}

function isTokenResponse(value: unknown): value is TokenResponse {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.access_token === "string" && typeof record.expires_in === "number";
}

export function createTokenClient(options: TokenClientOptions): TokenClient {
  const storage = options.storage ?? memoryStorage();
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? Date.now;
  const leeway = options.expiryLeewayMs ?? 10_000;
  const revokeUrl = options.revokeUrl ?? `${options.tokenUrl.replace(/\/$/, "")}/revoke`;
  let inflight: Promise<TokenSet> | null = null;

  async function postForm(url: string, form: Record<string, string>): Promise<Response> {
    try {
      return await doFetch(url, {
        method: "POST",
        headers: {
          ...options.headers,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: new URLSearchParams(form).toString(),
        credentials: "omit",
      });
    } catch (cause) {
      throw new TesseraError("upstream_unavailable", "token endpoint unreachable", { cause });
    }
  }

  async function grant(form: Record<string, string>, previous: TokenSet | null): Promise<TokenSet> {
    const response = await postForm(options.tokenUrl, form);
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok || !isTokenResponse(body)) {
      const oauthError =
        typeof body === "object" && body !== null && "error" in body ? String(body.error) : undefined;
      const code = oauthError === "invalid_grant" ? "invalid_grant" : "token_refresh_failed";
      throw new TesseraError(code, `token request failed (${response.status}${oauthError ? ` ${oauthError}` : ""})`, {
        status: response.status,
        ...(isProblem(body) ? { problem: body } : {}),
      });
    }
    const tokens: TokenSet = {
      accessToken: body.access_token,
      // A refresh answer without a new refresh token keeps the old one.
      refreshToken: body.refresh_token ?? previous?.refreshToken,
      expiresAt: now() + body.expires_in * 1000,
    };
    await storage.set(tokens);
    return tokens;
  }

  function refresh(): Promise<TokenSet> {
    if (inflight) return inflight;
    inflight = (async () => {
      const current = await storage.get();
      if (!current?.refreshToken) {
        throw new TesseraError("unauthenticated", "no refresh token");
      }
      try {
        return await grant({ grant_type: "refresh_token", refresh_token: current.refreshToken }, current);
      } catch (error) {
        if (error instanceof TesseraError && error.code === "invalid_grant") await storage.clear();
        throw error;
      }
    })().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  async function getAccessToken(): Promise<string | null> {
    if (inflight) return (await inflight).accessToken;
    const current = await storage.get();
    if (!current) return null;
    if (current.expiresAt - leeway > now() || !current.refreshToken) return current.accessToken;
    return (await refresh()).accessToken;
  }

  async function send(input: string | URL, init: RequestInit | undefined, token: string | null): Promise<Response> {
    const headers = new Headers(init?.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    return doFetch(input, { ...init, headers });
  }

  return {
    signInWithPassword: (username, password) => grant({ grant_type: "password", username, password }, null),
    getAccessToken,
    refresh,
    async fetch(input, init) {
      const token = await getAccessToken();
      const first = await send(input, init, token);
      if (first.status !== 401 || token === null) return first;
      // Another caller may have refreshed while this request was in flight.
      const stored = await storage.get();
      const fresh = stored && stored.accessToken !== token ? stored : await refresh();
      await first.body?.cancel();
      return send(input, init, fresh.accessToken);
    },
    async signOut() {
      const current = await storage.get();
      await storage.clear();
      if (current?.refreshToken) {
        const response = await postForm(revokeUrl, {
          token: current.refreshToken,
          token_type_hint: "refresh_token",
        });
        await response.body?.cancel();
      }
    },
  };
}
