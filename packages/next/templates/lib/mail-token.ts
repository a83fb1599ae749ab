/**
 * How the app takes the token of a link tessera mails (`/reset-password?token=…`,
 * `/verify-email?token=…`).
 *
 * The proxy answers the link itself with a 303 to the same page without the
 * query, carrying the token in an HttpOnly cookie for that page's path only,
 * and sends `Referrer-Policy: no-referrer` with that answer. The token is then
 * in no page URL: not in the history, not in any Referer. The page keeps the
 * site's referrer policy, which it needs: under `no-referrer` a browser sends
 * `Origin: null` with a form POST, which Next (server actions) and tessera
 * refuse, so the form would not work without JavaScript. Nothing here spends
 * the token: only the form's POST does (mail scanners open links).
 */

/** The pages tessera's mailed links open (its TESSERA_*_PATH settings at their defaults). */
export const MAIL_LINK_PAGES: readonly string[] = ["/reset-password", "/verify-email"];

/** The app's own cookie (not `__Host-tessera_*`, so the kit never sends it to tessera). */
export const MAIL_TOKEN_COOKIE = "mail_link_token";

/** Long enough to read the mail and choose a password; tessera's own expiry still applies. */
export const MAIL_TOKEN_COOKIE_MAX_AGE = 60 * 60;

/**
 * The token, or undefined when it is none tessera could have made (it mails
 * 256-bit tokens, base64url). Checked before it goes into a form, so a
 * mangled link shows "ask for a new one" instead of a button that can only fail.
 */
export function mailToken(value: string | undefined): string | undefined {
  return typeof value === "string" && /^[A-Za-z0-9_-]{16,256}$/.test(value) ? value : undefined;
}
