import type { NextConfig } from "next";

interface Header {
  key: string;
  value: string;
}

/** Two years, subdomains included: only ever sent for an https origin. */
export const HSTS: Header = { key: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains" };

function isHttps(origin: string | undefined): boolean {
  if (!origin) return false;
  try {
    return new URL(origin).protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * Headers for every response. HSTS is added when the app's origin is https
 * and left off for http://localhost, where it would pin the browser to https
 * for every localhost app. `next build` bakes these into the routes manifest
 * that `next start` serves, so APP_ORIGIN must be set when building.
 */
export function securityHeaders(appOrigin: string | undefined): Header[] {
  return [
    { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
    { key: "X-Content-Type-Options", value: "nosniff" },
    { key: "X-Frame-Options", value: "DENY" },
    { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
    { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
    ...(isHttps(appOrigin) ? [HSTS] : []),
  ];
}

/**
 * The pages that tessera's mailed links open (TESSERA_VERIFY_EMAIL_PATH,
 * TESSERA_RESET_PASSWORD_PATH, TESSERA_CONFIRM_EMAIL_PATH at their
 * defaults). Opened with `?token=` they send no Referer at all, not even
 * the origin (the rule comes after the one for every path, and the last
 * rule to set a header wins). proxy.ts answers that URL with a redirect to
 * the page without the token (see lib/mail-token.ts), and sets the same
 * header itself.
 */
export const MAIL_LINK_PAGES = ["/verify-email", "/reset-password", "/confirm-email"] as const;

/** What a mail link's URL answers with: its token must reach no other site. */
export const MAIL_LINK_REFERRER_POLICY: Header = { key: "Referrer-Policy", value: "no-referrer" };

const nextConfig: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  async headers() {
    return [
      { source: "/:path*", headers: securityHeaders(process.env.APP_ORIGIN) },
      // Pages get a nonce-based CSP from proxy.ts; the auth API answers JSON only.
      { source: "/api/:path*", headers: [{ key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'" }] },
      ...MAIL_LINK_PAGES.map((source) => ({ source, has: [{ type: "query" as const, key: "token" }], headers: [MAIL_LINK_REFERRER_POLICY] })),
    ];
  },
};

export default nextConfig;
