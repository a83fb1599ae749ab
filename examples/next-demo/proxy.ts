import { createAuthProxy } from "@tessera/next/proxy";
import { NextResponse, type NextRequest } from "next/server";
import { authPaths } from "@/lib/auth-paths";
import { MAIL_TOKEN_COOKIE, MAIL_TOKEN_COOKIE_MAX_AGE, mailToken } from "@/lib/mail-token";
import { MAIL_LINK_PAGES, MAIL_LINK_REFERRER_POLICY } from "./next.config";

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

const authProxy = createAuthProxy({
  protectedPaths: ["/dashboard", "/account", "/admin"],
  paths: authPaths,
  onAllowed: withContentSecurityPolicy,
});

/**
 * A mailed link (`/reset-password?token=…`): the token moves into an
 * HttpOnly cookie for that page's path and the browser goes to the page
 * without it (see lib/mail-token.ts). This spends nothing; a link without a
 * usable token forgets any older one, so the page asks for a new link.
 */
function mailLinkRedirect(request: NextRequest): Response | null {
  const { pathname, searchParams } = request.nextUrl;
  if (!searchParams.has("token") || !(MAIL_LINK_PAGES as readonly string[]).includes(pathname)) return null;
  const token = mailToken(searchParams.getAll("token").length === 1 ? (searchParams.get("token") ?? undefined) : undefined);
  // Same origin as the auth proxy's own redirects; Next answers it relative to the request.
  const response = NextResponse.redirect(new URL(pathname, request.nextUrl.origin), 303);
  response.headers.set(MAIL_LINK_REFERRER_POLICY.key, MAIL_LINK_REFERRER_POLICY.value);
  response.headers.set("cache-control", "no-store");
  response.cookies.set({
    name: MAIL_TOKEN_COOKIE,
    value: token ?? "",
    path: pathname,
    maxAge: token ? MAIL_TOKEN_COOKIE_MAX_AGE : 0,
    httpOnly: true,
    secure: true,
    // Lax, not Strict: the link is opened from a mail client, another site,
    // and the cookie must come along on the redirect that follows.
    sameSite: "lax",
  });
  return response;
}

export async function proxy(request: NextRequest): Promise<Response> {
  return mailLinkRedirect(request) ?? authProxy(request);
}

export const config = {
  // Pages only: the auth API and static assets need neither check nor nonce.
  matcher: ["/((?!api/|_next/static|_next/image|favicon.ico).*)"],
};
