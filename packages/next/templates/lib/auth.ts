import "server-only";
import { createTessera } from "@tessera/next/server";
import { authPaths } from "./auth-paths";

/**
 * The Tessera kit, configured once. What is not given here the kit reads
 * from the environment (.env.local in development) when first used, not at
 * build time, so `next build` needs none of it:
 * TESSERA_URL      the tessera server, e.g. http://127.0.0.1:4000
 * TESSERA_BFF_KEY  the key shared with tessera (its TESSERA_BFF_KEY); never
 *                  sent to a browser
 * APP_ORIGIN       optional: this app's public origin, sent to tessera as
 *                  Origin for calls that came without one
 *
 * No client IP is sent to tessera: `next start` passes on an X-Forwarded-For
 * that a browser wrote itself, so trusting it would let anyone pick the
 * address tessera rate-limits. Behind a reverse proxy you run, add
 * `trustedIpHeader` and `trustedProxyCount` (the kit's README, "Client IP").
 */
export const tessera = createTessera({ paths: authPaths, afterSignInPath: "/account" });
