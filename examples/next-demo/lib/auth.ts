import "server-only";
import { createTessera } from "@tessera/next/server";
import { authPaths } from "./auth-paths";

/**
 * The kit, configured once. Read at request time, not build time:
 * TESSERA_URL          the tessera server, e.g. http://127.0.0.1:4000
 * TESSERA_BFF_KEY      the shared key (never sent to browsers)
 * APP_ORIGIN           this app's public origin (Origin for calls without one)
 * TRUSTED_IP_HEADER    where the browser's IP is read; default x-forwarded-for,
 *                      empty to send none
 * TRUSTED_PROXY_COUNT  entries from the right of that header written by
 *                      something you trust; default 1
 * TESSERA_OAUTH_PROVIDERS      the providers tessera is configured with
 *                              (e.g. github,acme): one "Sign in with …" each
 * TESSERA_OAUTH_<NAME>_LABEL   what that button says (default: GitHub, or
 *                              the name capitalised)
 *
 * The defaults fit `next start` facing browsers directly (Next fills
 * X-Forwarded-For from the socket) and one proxy in front that appends to
 * X-Forwarded-For. Without a proxy, Next keeps an X-Forwarded-For the client
 * sent itself, so that client picks its own rate-limit bucket; see the kit's
 * README, "Client IP".
 */
export const tessera = createTessera({
  serverUrl: process.env.TESSERA_URL,
  bffKey: process.env.TESSERA_BFF_KEY,
  paths: authPaths,
  afterSignInPath: "/dashboard",
  publicOrigin: process.env.APP_ORIGIN,
  trustedIpHeader: process.env.TRUSTED_IP_HEADER ?? "x-forwarded-for",
  trustedProxyCount: Number(process.env.TRUSTED_PROXY_COUNT ?? "1"),
});
