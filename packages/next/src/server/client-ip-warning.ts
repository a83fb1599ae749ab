import type { ResolvedConfig } from "../config.js";

// On globalThis, not in a module variable: Next bundles the kit into several
// module graphs (route handlers, server components, actions) in one process.
const WARNED = Symbol.for("@tessera/next.client-ip-warned");
type WarnedGlobal = typeof globalThis & { [WARNED]?: boolean };

/**
 * Logs once per process, in production only, that a request to tessera goes
 * without `Tessera-Client-Ip`. With a BFF key tessera then knows no client
 * IP: failed logins are limited per account only, registrations and provider
 * checks not per address, and the device list shows no addresses.
 */
export function warnMissingClientIp(config: Pick<ResolvedConfig, "trustedIpHeader" | "trustedProxyCount">): void {
  const scope = globalThis as WarnedGlobal;
  if (scope[WARNED] || process.env.NODE_ENV !== "production") return;
  scope[WARNED] = true;
  const why = config.trustedIpHeader
    ? `the request's "${config.trustedIpHeader}" header had no IP address at entry ${config.trustedProxyCount ?? "?"} from the right ` +
      "(missing, fewer entries than trustedProxyCount, or not an address)"
    : "trustedIpHeader is not configured, so no forwarded header is trusted";
  console.warn(
    `[@tessera/next] no client IP sent to tessera (${why}). Without Tessera-Client-Ip, tessera limits failed logins per account only, ` +
      "does not limit registrations or provider checks per address, and shows no addresses in the device list. Behind proxies you run, " +
      'set trustedIpHeader (e.g. "x-forwarded-for") and trustedProxyCount (how many of them write it); see the README, "Client IP". ' +
      "This warning is shown once.",
  );
}

/** Tests only: forget that the warning was shown. */
export function resetClientIpWarning(): void {
  delete (globalThis as WarnedGlobal)[WARNED];
}
