import { defineAuthPaths } from "@tessera/next";

/**
 * The app's auth paths, written once and handed to lib/auth.ts and proxy.ts.
 * No secrets: client components may import it too. Next's file routing fixes
 * the same paths a second time and they must agree: `basePath` is where
 * app/api/auth/[...tessera]/route.ts is mounted, `signInPath` is app/login.
 */
export const authPaths = defineAuthPaths({ basePath: "/api/auth", signInPath: "/login" });
