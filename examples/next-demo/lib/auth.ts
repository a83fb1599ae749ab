import "server-only";
import { createTessera } from "@tessera/next/server";
import { authPaths } from "./auth-paths";

/**
 * The kit, configured once. Read at request time, not build time:
 * TESSERA_URL          the tessera server, e.g. http://127.0.0.1:4000
 * TESSERA_BFF_KEY      the shared key (never sent to browsers)
 * APP_ORIGIN           this app's public origin (Origin for calls without one)
 * TRUSTED_IP_HEADER    where a proxy you run wrote the browser's IP, e.g.
 *                      x-forwarded-for; unset or empty (the default): none
 * TRUSTED_PROXY_COUNT  how many proxies you run write that header (required
 *                      with TRUSTED_IP_HEADER; an integer ≥ 1)
 * TESSERA_OAUTH_PROVIDERS      the providers tessera is configured with
 *                              (e.g. github,acme): one "Sign in with …" each
 * TESSERA_OAUTH_<NAME>_LABEL   what that button says (default: GitHub, or
 *                              the name capitalised)
 *
 * The client IP: as shipped, the demo trusts no forwarded header and sends
 * tessera no client IP. `next start` passes an X-Forwarded-For the client sent
 * itself through unchanged (it fills the header from the socket only when a
 * request has none), so trusting it would let a browser choose the address
 * tessera sees: lock any address out with failed logins "from" it, or
 * dodge per-IP limits with a fresh one each time. Without an IP tessera
 * limits failed logins per account only, registrations and provider checks
 * not per address, and the device list shows no addresses.
 *
 * Behind one reverse proxy that appends what it saw (nginx:
 * `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`):
 * TRUSTED_IP_HEADER=x-forwarded-for TRUSTED_PROXY_COUNT=1. A CDN in front of
 * that proxy, both appending: TRUSTED_PROXY_COUNT=2. A header the proxy
 * overwrites (`proxy_set_header X-Real-IP $remote_addr;`):
 * TRUSTED_IP_HEADER=x-real-ip TRUSTED_PROXY_COUNT=1. Only when Next cannot
 * be reached around the proxy. See the kit's README, "Client IP".
 */
export const tessera = createTessera({
  serverUrl: process.env.TESSERA_URL,
  bffKey: process.env.TESSERA_BFF_KEY,
  paths: authPaths,
  afterSignInPath: "/dashboard",
  publicOrigin: process.env.APP_ORIGIN,
  trustedIpHeader: process.env.TRUSTED_IP_HEADER || undefined,
  // No default: without TRUSTED_PROXY_COUNT a TRUSTED_IP_HEADER is config_invalid.
  trustedProxyCount: process.env.TRUSTED_PROXY_COUNT ? Number(process.env.TRUSTED_PROXY_COUNT) : undefined,
});
