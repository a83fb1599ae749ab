import type { ResolvedConfig } from "../config.js";

// On globalThis, not in a module variable: Next bundles the kit into several
// module graphs (route handlers, server components, actions) in one process.
const WARNED = Symbol.for("@tessera/next.client-ip-warned");
type WarnedGlobal = typeof globalThis & { [WARNED]?: boolean };

/**
 * Logs once per process, in production only, that a request to tessera goes
 * without `Tessera-Client-Ip`. With a BFF key tessera then knows no client
 * IP at all: no per-IP login limit and no IP in the device list.
 */
export function warnMissingClientIp(config: Pick<ResolvedConfig, "trustedIpHeader">): void {
  const scope = globalThis as WarnedGlobal;
  if (scope[WARNED] || process.env.NODE_ENV !== "production") return;
  scope[WARNED] = true;
  const why = config.trustedIpHeader
    ? `the request had no usable "${config.trustedIpHeader}" header`
    : "trustedIpHeader is not configured";
  console.warn(
    `[@tessera/next] cannot determine the client IP (${why}); tessera gets no Tessera-Client-Ip, so per-IP rate limits ` +
      `and device IPs are off. Set trustedIpHeader (e.g. "x-forwarded-for") and trustedProxyCount to match your deployment. ` +
      "This warning is shown once.",
  );
}

/** Tests only: forget that the warning was shown. */
export function resetClientIpWarning(): void {
  delete (globalThis as WarnedGlobal)[WARNED];
}
