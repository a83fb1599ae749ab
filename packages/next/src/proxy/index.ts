/**
 * `@tessera/next/proxy`: a helper for Next 16's `proxy.ts`. It only checks
 * that a session cookie is present on protected paths: a cheap, early
 * redirect for signed-out visitors. It is not the authorisation decision;
 * pages still call `requireUser()`, which asks tessera.
 *
 * It reads nothing but the path and the session cookie. Internal headers
 * such as `x-middleware-subrequest` are never consulted (CVE-2025-29927
 * skipped middleware when a client sent that header).
 */
import { NextResponse, type NextRequest } from "next/server";
import { SESSION_COOKIE } from "../constants.js";
import { type AuthPathsInput, defineAuthPaths } from "../paths.js";
import { signInUrl } from "../redirect.js";

/** A path prefix (`/account` covers `/account` and `/account/...`) or a RegExp on the pathname. */
export type PathPattern = string | RegExp;

export interface AuthProxyOptions {
  /** Paths that need a signed-in visitor. */
  protectedPaths: readonly PathPattern[];
  /** The app's paths from `defineAuthPaths` (its `signInPath`; default `/login`). */
  paths?: AuthPathsInput;
  /** What to answer when the request may go on (default `NextResponse.next()`). */
  onAllowed?: (request: NextRequest) => Response | Promise<Response>;
}

export function matchesPath(pathname: string, pattern: PathPattern): boolean {
  if (typeof pattern !== "string") return pattern.test(pathname);
  const prefix = pattern.endsWith("/") && pattern.length > 1 ? pattern.slice(0, -1) : pattern;
  return pathname === prefix || pathname.startsWith(`${prefix}/`) || prefix === "/";
}

export function isProtectedPath(pathname: string, patterns: readonly PathPattern[]): boolean {
  return patterns.some((pattern) => matchesPath(pathname, pattern));
}

/** The redirect for a signed-out visitor of a protected path, or null to let it through. */
export function authRedirect(request: NextRequest, options: AuthProxyOptions): NextResponse | null {
  const { pathname, search } = request.nextUrl;
  if (!isProtectedPath(pathname, options.protectedPaths)) return null;
  if (request.cookies.get(SESSION_COOKIE)?.value) return null;
  const { signInPath } = defineAuthPaths(options.paths);
  const target = new URL(signInUrl(signInPath, `${pathname}${search}`), request.nextUrl.origin);
  const response = NextResponse.redirect(target, 307);
  response.headers.set("cache-control", "no-store");
  return response;
}

/** `export const proxy = createAuthProxy({ protectedPaths: ["/dashboard"] })` */
export function createAuthProxy(options: AuthProxyOptions): (request: NextRequest) => Promise<Response> {
  const resolved = { ...options, paths: defineAuthPaths(options.paths) };
  return async (request) => authRedirect(request, resolved) ?? (resolved.onAllowed ? resolved.onAllowed(request) : NextResponse.next());
}
