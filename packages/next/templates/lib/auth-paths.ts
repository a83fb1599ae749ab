import { defineAuthPaths } from "@tessera/next";

/**
 * The app's auth paths, written once and handed to lib/auth and the proxy.
 * No secrets: client components may import it too. Next's file routing fixes
 * the same paths a second time and they must agree: `basePath` is where
 * app/api/auth/[...tessera]/route is mounted, `signInPath` is app/login.
 */
export const authPaths = defineAuthPaths({ basePath: "/api/auth", signInPath: "/login" });
