import { TesseraError } from "./errors.js";
import { type AuthPathsInput, defineAuthPaths } from "./paths.js";
import { sanitizeRedirect } from "./redirect.js";

/**
 * A provider name as tessera and the route handler accept it: lower-case
 * letters, digits, `_` and `-`, starting with a letter or digit, at most 64
 * characters. Anything else never reaches tessera (the route handler answers 404).
 */
export const PROVIDER_NAME_PATTERN = "[a-z0-9][a-z0-9_-]{0,63}";
const PROVIDER_NAME = new RegExp(`^${PROVIDER_NAME_PATTERN}$`);

export function isProviderName(value: unknown): value is string {
  return typeof value === "string" && PROVIDER_NAME.test(value);
}

/** The label a provider gets when none is configured: "GitHub" for `github`, else the name capitalised. */
export function defaultProviderLabel(name: string): string {
  if (name === "github") return "GitHub";
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export interface OAuthStartOptions {
  /** The app's paths from `defineAuthPaths` (the route handler's `basePath`; default `/api/auth`). */
  paths?: AuthPathsInput;
}

/**
 * The href of a "Sign in with …" link: `/api/auth/oauth/{provider}/start`,
 * with `return_to` when given. A plain link works without JavaScript; do not
 * use `next/link`, whose prefetch would start a flow. `returnTo` goes through
 * `sanitizeRedirect`, so an unsafe one becomes `/`.
 */
export function oauthStartHref(provider: string, returnTo?: string, options: OAuthStartOptions = {}): string {
  if (!isProviderName(provider)) {
    throw new TesseraError("config_invalid", `not a provider name: ${JSON.stringify(provider)} (expected ${PROVIDER_NAME_PATTERN})`);
  }
  const href = `${defineAuthPaths(options.paths).basePath}/oauth/${provider}/start`;
  if (returnTo === undefined) return href;
  return `${href}?return_to=${encodeURIComponent(sanitizeRedirect(returnTo, "/"))}`;
}

/**
 * What each `?error=` code of a failed OAuth sign-in (and the identity
 * endpoints' problem codes) means, in words a person can act on.
 */
export const OAUTH_ERROR_MESSAGES: Readonly<Record<string, string>> = Object.freeze({
  unknown_provider: "That sign-in provider is not available.",
  invalid_request: "The sign-in request was not valid. Please try again.",
  oauth_state_mismatch: "The sign-in took too long or was started in another browser. Please try again.",
  access_denied: "Sign-in was cancelled at the provider, so you were not signed in.",
  oauth_code_rejected: "The provider did not accept this sign-in. Please try again.",
  id_token_invalid: "The provider's answer could not be verified, so you were not signed in. Please try again.",
  provider_unavailable: "The sign-in provider could not be reached. Please try again in a moment.",
  account_exists:
    "An account with this email already exists. Sign in with your password, then link this provider from your account page.",
  identity_taken: "That provider account is already linked to another user.",
  provider_already_linked:
    "Another account at this provider is already linked to you. Unlink it first to link this one.",
  email_required: "The provider did not share a verified email address, which is needed to create your account.",
  account_disabled: "This account has been disabled.",
  registration_closed: "Sign-up is closed, and this provider account is not linked to a user. Ask an administrator for an account.",
  email_domain_not_allowed: "Sign-up is not open to the email address this provider gave.",
  last_sign_in_method: "This is the only way you can sign in, so it cannot be unlinked. Link another provider first.",
  unauthenticated: "You were signed out before the provider was linked. Sign in and try again.",
  rate_limited: "Too many attempts. Please wait a moment and try again.",
  unavailable: "The sign-in service is busy or cannot be reached. Please try again shortly.",
});

/** For codes the kit does not know: it never repeats the code itself. */
export const OAUTH_GENERIC_ERROR_MESSAGE = "Sign-in did not complete. Please try again.";

/**
 * A sentence for an OAuth error code (e.g. the sign-in page's `?error=`).
 * Unknown codes, arrays and non-strings get the generic sentence; the raw
 * value is never part of the answer, so it cannot inject markup or text.
 */
export function oauthErrorMessage(code: unknown): string {
  if (typeof code === "string" && Object.hasOwn(OAUTH_ERROR_MESSAGES, code)) {
    return OAUTH_ERROR_MESSAGES[code] ?? OAUTH_GENERIC_ERROR_MESSAGE;
  }
  return OAUTH_GENERIC_ERROR_MESSAGE;
}
