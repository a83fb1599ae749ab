import { createAuthProxy } from "@tessera/next/proxy";
import { NextResponse, type NextRequest } from "next/server";
import { authPaths } from "./lib/auth-paths";
import { MAIL_LINK_PAGES, MAIL_TOKEN_COOKIE, MAIL_TOKEN_COOKIE_MAX_AGE, mailToken } from "./lib/mail-token";

/**
 * Signed-out visitors of these paths go to /login?next=… . Only a cheap check
 * that a session cookie is there: the pages still ask tessera (requireUser).
 */
const authProxy = createAuthProxy({ protectedPaths: ["/account"], paths: authPaths });

/**
 * A mailed link (`/reset-password?token=…`): the token moves into an
 * HttpOnly cookie for that page's path and the browser goes to the page
 * without it (see lib/mail-token). This spends nothing; a link without a
 * usable token forgets any older one, so the page asks for a new link.
 */
function mailLinkRedirect(request: NextRequest): Response | null {
  const { pathname, searchParams } = request.nextUrl;
  if (!searchParams.has("token") || !MAIL_LINK_PAGES.includes(pathname)) return null;
  const token = mailToken(searchParams.getAll("token").length === 1 ? (searchParams.get("token") ?? undefined) : undefined);
  const response = NextResponse.redirect(new URL(pathname, request.nextUrl.origin), 303);
  response.headers.set("referrer-policy", "no-referrer");
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
  // Pages only: the auth API and static assets need neither check.
  matcher: ["/((?!api/|_next/static|_next/image|favicon.ico).*)"],
};
