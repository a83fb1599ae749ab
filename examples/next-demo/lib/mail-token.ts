/**
 * How the demo takes the token of a mailed link (tessera's `/verify-email`,
 * `/reset-password` and `/confirm-email` links, `?token=…`).
 *
 * proxy.ts answers the link itself with a redirect to the same page without
 * the query, carrying the token in an HttpOnly cookie for that page's path
 * only; that answer sends `Referrer-Policy: no-referrer`. The token is then
 * in no page URL: not in the history, not in any Referer. The page it lands
 * on keeps the site-wide referrer policy, which it needs: under
 * `no-referrer` a browser sends `Origin: null` with a form POST, and both
 * Next (server actions) and tessera refuse that, so the form would not work
 * without JavaScript. Nothing here spends the token: only the form's POST
 * does (mail scanners open links).
 */

/** The demo's own cookie (not `__Host-tessera_*`: the kit never sends it to tessera). */
export const MAIL_TOKEN_COOKIE = "demo_mail_token";

/** Long enough to read the mail and choose a password; tessera's own expiry still applies. */
export const MAIL_TOKEN_COOKIE_MAX_AGE = 60 * 60;

/**
 * The token, or undefined when there is none that tessera could have made
 * (it mails 256-bit tokens, base64url). Checked before it goes into a form
 * so a mangled link shows "ask for a new one" instead of a button that can
 * only fail.
 */
export function mailToken(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" && /^[A-Za-z0-9_-]{16,256}$/.test(value) ? value : undefined;
}
