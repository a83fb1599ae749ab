import { defineAuthPaths } from "@tessera/next";

/**
 * The demo's auth paths, written here only: lib/auth.ts, proxy.ts, the
 * layout's <SessionProvider>, the devices list's fetcher and the OAuth links
 * all take this object. No secrets: client components import it too.
 *
 * Next's file routing fixes the same two paths a second time, and they must
 * agree: `basePath` is where app/api/auth/[...tessera]/route.ts is mounted,
 * `signInPath` is the page in app/login.
 */
export const authPaths = defineAuthPaths({ basePath: "/api/auth", signInPath: "/login" });
