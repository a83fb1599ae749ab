import { TesseraError } from "./errors.js";
import { DEFAULT_TIMEOUT_MS } from "./constants.js";
import { type AuthPaths, type AuthPathsInput, defineAuthPaths } from "./paths.js";

/**
 * Configuration for the server half of the kit. Values may be `undefined` at
 * build time (`next build` evaluates modules without the runtime env); they
 * are checked when first used, with a `config_invalid` error.
 */
export interface TesseraConfig {
  /** Base URL of the tessera server, e.g. `http://127.0.0.1:4000`. */
  serverUrl: string | undefined;
  /** Shared secret sent as `Tessera-Bff-Key`; must never reach a browser bundle. */
  bffKey?: string | undefined;
  /**
   * The route handler's mount point and the sign-in page, from
   * `defineAuthPaths` (default `/api/auth` and `/login`). Pass the same object
   * to the proxy, `<SessionProvider>`, the fetcher and `oauthStartHref`.
   */
  paths?: AuthPathsInput;
  /** The app's public origin, sent as `Origin` when a request came without one. */
  publicOrigin?: string | undefined;
  /**
   * Request header holding the browser's IP, e.g. `x-forwarded-for` (which
   * `next start` fills from the socket when a request arrives without one).
   * Unset: no `Tessera-Client-Ip` is sent, and a warning is logged once in
   * production. See the README for proxies.
   */
  trustedIpHeader?: string | undefined;
  /**
   * How many entries from the right of `trustedIpHeader` were written by
   * something you trust (default 1: the nearest proxy, or `next start`
   * itself). An integer ≥ 1.
   */
  trustedProxyCount?: number;
  /** Upstream timeout in milliseconds (default 5000). */
  timeoutMs?: number;
  /** Where to go after sign-in when no `next` was given (default `/`). */
  afterSignInPath?: string;
  /** Where to go after sign-out (default the sign-in path). */
  afterSignOutPath?: string;
  /**
   * Replaces the transport to tessera (tests do). Unset: `node:http` over
   * kept-alive connections (see `server/node-fetch.ts`).
   */
  fetch?: typeof fetch;
}

/**
 * How calls reach tessera, chosen once when the config is resolved:
 * `keep-alive` is the kit's own `node:http` transport (kept-alive sockets,
 * idle limit, GET retry on a dead connection), `fetch` a `fetch` the app gave.
 */
export type Transport = { kind: "keep-alive" } | { kind: "fetch"; fetch: typeof fetch };

export interface ResolvedConfig {
  serverUrl: URL;
  bffKey: string | undefined;
  paths: AuthPaths;
  publicOrigin: string | undefined;
  trustedIpHeader: string | undefined;
  trustedProxyCount: number;
  timeoutMs: number;
  afterSignInPath: string;
  afterSignOutPath: string;
  transport: Transport;
}

/** Identity helper that gives editors the type. */
export function defineConfig(config: TesseraConfig): TesseraConfig {
  return config;
}

export function resolveConfig(config: TesseraConfig): ResolvedConfig {
  if (!config.serverUrl) {
    throw new TesseraError("config_invalid", "serverUrl is not set (TESSERA_URL?)");
  }
  let serverUrl: URL;
  try {
    serverUrl = new URL(config.serverUrl);
  } catch (cause) {
    throw new TesseraError("config_invalid", `serverUrl is not a URL: ${config.serverUrl}`, { cause });
  }
  if (serverUrl.protocol !== "http:" && serverUrl.protocol !== "https:") {
    throw new TesseraError("config_invalid", "serverUrl must be http or https");
  }
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TesseraError("config_invalid", "timeoutMs must be a positive number");
  }
  const trustedProxyCount = config.trustedProxyCount ?? 1;
  if (!Number.isInteger(trustedProxyCount) || trustedProxyCount < 1) {
    // NaN here (e.g. Number(process.env.X) of a typo) used to pick the leftmost,
    // client-written entry of X-Forwarded-For.
    throw new TesseraError("config_invalid", "trustedProxyCount must be an integer ≥ 1");
  }
  const paths = defineAuthPaths(config.paths);
  return {
    serverUrl,
    bffKey: config.bffKey || undefined,
    paths,
    publicOrigin: config.publicOrigin || undefined,
    trustedIpHeader: config.trustedIpHeader?.toLowerCase() || undefined,
    trustedProxyCount,
    timeoutMs,
    afterSignInPath: config.afterSignInPath ?? "/",
    afterSignOutPath: config.afterSignOutPath ?? paths.signInPath,
    transport: config.fetch ? { kind: "fetch", fetch: config.fetch } : { kind: "keep-alive" },
  };
}

/** The resolved config, as every part of the server kit reads it. */
export type ConfigSource = () => ResolvedConfig;

/**
 * Resolves `config` on the first call and hands out that one result from then
 * on: `next build` imports modules without the runtime environment, so a bad
 * or missing value surfaces as `config_invalid` on first use, not at import.
 * A failed resolution is not kept; the next call tries again.
 */
export function lazyConfig(config: TesseraConfig): ConfigSource {
  let resolved: ResolvedConfig | undefined;
  return () => (resolved ??= resolveConfig(config));
}
