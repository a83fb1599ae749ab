import { createAuthProxy } from "@tessera/next/proxy";
import { NextResponse, type NextRequest } from "next/server";
import { authPaths } from "@/lib/auth-paths";

/** A per-request nonce CSP; Next puts the nonce on its own scripts. */
function withContentSecurityPolicy(request: NextRequest): Response {
  const nonce = Buffer.from(crypto.randomUUID()).toString("base64");
  const dev = process.env.NODE_ENV === "development";
  const policy = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    `style-src 'self'${dev ? " 'unsafe-inline'" : ` 'nonce-${nonce}'`}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  const headers = new Headers(request.headers);
  headers.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("content-security-policy", policy);
  return response;
}

export const proxy = createAuthProxy({
  protectedPaths: ["/dashboard", "/account"],
  paths: authPaths,
  onAllowed: withContentSecurityPolicy,
});

export const config = {
  // Pages only: the auth API and static assets need neither check nor nonce.
  matcher: ["/((?!api/|_next/static|_next/image|favicon.ico).*)"],
};
