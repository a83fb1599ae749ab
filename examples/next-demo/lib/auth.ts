import "server-only";
import { createTessera } from "@tessera/next/server";

/**
 * The kit, configured once. Read at request time, not build time:
 * TESSERA_URL        the tessera server, e.g. http://127.0.0.1:4000
 * TESSERA_BFF_KEY    the shared key (never sent to browsers)
 * APP_ORIGIN         this app's public origin (Origin for calls without one)
 * TRUSTED_IP_HEADER  set only behind a proxy you trust, e.g. x-forwarded-for
 */
export const tessera = createTessera({
  serverUrl: process.env.TESSERA_URL,
  bffKey: process.env.TESSERA_BFF_KEY,
  signInPath: "/login",
  afterSignInPath: "/dashboard",
  publicOrigin: process.env.APP_ORIGIN,
  trustedIpHeader: process.env.TRUSTED_IP_HEADER,
});
