import { defineAuthPaths } from "@tessera/next";

/**
 * The app's auth paths, written once and handed to lib/auth and the proxy.
 * No secrets: client components may import it too. Next's file routing fixes
 * the same paths a second time and they must agree: `basePath` is where
 * app/api/auth/[...tessera]/route is mounted, `signInPath` is app/login.
 * These are the kit's defaults, which the forms' ready-made actions
 * (@tessera/next/actions) use: with other paths, give the forms actions of
 * lib/auth-actions over lib/auth's `tessera` instead.
 */
export const authPaths = defineAuthPaths({ basePath: "/api/auth", signInPath: "/login" });
