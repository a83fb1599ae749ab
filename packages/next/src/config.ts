import { TesseraError } from "./errors.js";
import { DEFAULT_TIMEOUT_MS } from "./constants.js";
import { type AuthPaths, type AuthPathsInput, defineAuthPaths } from "./paths.js";

/**
 * Configuration for the server half of the kit. Values may be `undefined` at
 * build time (`next build` evaluates modules without the runtime env); they
 * are checked when first used, with a `config_invalid` error.
 *
 * `serverUrl`, `bffKey` and `publicOrigin` left out of the object are read
 * from `TESSERA_URL`, `TESSERA_BFF_KEY` and `APP_ORIGIN` when the config is
 * first used (see {@link ENV_DEFAULTS}), so `createTessera()` with no
 * argument is the whole set-up of an app that keeps the default paths. One
 * given, even as `undefined`, is used as given.
 */
export interface TesseraConfig {
  /** Base URL of the tessera server, e.g. `http://127.0.0.1:4000`. Left out: `TESSERA_URL`. */
  serverUrl?: string | undefined;
  /** Shared secret sent as `Tessera-Bff-Key`; must never reach a browser bundle. Left out: `TESSERA_BFF_KEY`. */
  bffKey?: string | undefined;
  /**
   * The route handler's mount point and the sign-in page, from
   * `defineAuthPaths` (default `/api/auth` and `/login`). Pass the same object
   * to the proxy, `<SessionProvider>`, the fetcher and `oauthStartHref`.
   */
  paths?: AuthPathsInput;
  /** The app's public origin, sent as `Origin` when a request came without one. Left out: `APP_ORIGIN`, if set. */
  publicOrigin?: string | undefined;
  /**
   * Request header from which the browser's IP is read, e.g.
   * `x-forwarded-for` or `x-real-ip`, named only when proxies you run sit in
   * front of Next and write it (`next start` passes on an `X-Forwarded-For`
   * a client sent itself). Unset (the default): no `Tessera-Client-Ip` is
   * sent, tessera limits failed logins per account only, and a warning is
   * logged once in production. Needs `trustedProxyCount`. See the README,
   * "Client IP".
   */
  trustedIpHeader?: string | undefined;
  /**
   * How many proxies in front of Next append to (or overwrite)
   * `trustedIpHeader`: the client IP is the entry that many from the right,
   * the one the outermost of them wrote. Required with `trustedIpHeader`
   * (an integer ≥ 1); with fewer entries than this no client IP is sent.
   */
  trustedProxyCount?: number | undefined;
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
  /** Both set or both unset: a client IP is read only when the deployment named the header and its proxy count. */
  trustedIpHeader: string | undefined;
  trustedProxyCount: number | undefined;
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
  const trustedIpHeader = config.trustedIpHeader?.trim().toLowerCase() || undefined;
  const trustedProxyCount = config.trustedProxyCount;
  if (trustedProxyCount !== undefined && (!Number.isInteger(trustedProxyCount) || trustedProxyCount < 1)) {
    // NaN here (e.g. Number(process.env.X) of a typo) used to pick the leftmost,
    // client-written entry of X-Forwarded-For.
    throw new TesseraError("config_invalid", "trustedProxyCount must be an integer ≥ 1");
  }
  if (trustedIpHeader && !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(trustedIpHeader)) {
    throw new TesseraError("config_invalid", `trustedIpHeader is not a header name: ${JSON.stringify(config.trustedIpHeader)}`);
  }
  if (trustedIpHeader && trustedProxyCount === undefined) {
    // No default: 1 is right behind one appending proxy and wrong facing
    // browsers directly, where the one entry is whatever the client sent.
    throw new TesseraError(
      "config_invalid",
      `trustedIpHeader is "${trustedIpHeader}" but trustedProxyCount is not set: say how many proxies you run in front of Next ` +
        `append to (or overwrite) that header (1 for one reverse proxy, 2 for a CDN and a proxy); the client IP is the entry that ` +
        `many from the right. With no such proxy, leave trustedIpHeader unset: a client can write that header itself.`,
    );
  }
  const paths = defineAuthPaths(config.paths);
  return {
    serverUrl,
    bffKey: config.bffKey || undefined,
    paths,
    publicOrigin: config.publicOrigin || undefined,
    trustedIpHeader,
    trustedProxyCount: trustedIpHeader ? trustedProxyCount : undefined,
    timeoutMs,
    afterSignInPath: config.afterSignInPath ?? "/",
    afterSignOutPath: config.afterSignOutPath ?? paths.signInPath,
    transport: config.fetch ? { kind: "fetch", fetch: config.fetch } : { kind: "keep-alive" },
  };
}

/**
 * The environment variable each config field left out is read from: the
 * names `npx @tessera/next init` writes into `.env.local` (`APP_ORIGIN`
 * optional).
 */
export const ENV_DEFAULTS = {
  serverUrl: "TESSERA_URL",
  bffKey: "TESSERA_BFF_KEY",
  publicOrigin: "APP_ORIGIN",
} as const satisfies Partial<Record<keyof TesseraConfig, string>>;

/**
 * `config` with each field of {@link ENV_DEFAULTS} it leaves out taken from
 * `env` (an empty value counts as unset). Called when the config is first
 * used, never at import: `next build` runs without the runtime environment.
 */
export function withEnvDefaults(config: TesseraConfig, env: Readonly<Record<string, string | undefined>> = process.env): TesseraConfig {
  const filled: TesseraConfig = { ...config };
  for (const [field, name] of Object.entries(ENV_DEFAULTS) as [keyof typeof ENV_DEFAULTS, string][]) {
    if (!(field in config)) filled[field] = env[name] || undefined;
  }
  return filled;
}

/** The resolved config, as every part of the server kit reads it. */
export type ConfigSource = () => ResolvedConfig;

/**
 * Resolves `config` (the fields it leaves out read from the environment, see
 * {@link withEnvDefaults}) on the first call and hands out that one result
 * from then on: `next build` imports modules without the runtime
 * environment, so a bad or missing value surfaces as `config_invalid` on
 * first use, not at import. A failed resolution is not kept; the next call
 * tries again, reading the environment again.
 */
export function lazyConfig(config: TesseraConfig = {}): ConfigSource {
  let resolved: ResolvedConfig | undefined;
  return () => (resolved ??= resolveConfig(withEnvDefaults(config)));
}
