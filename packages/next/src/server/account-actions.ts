import { refresh } from "next/cache";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import type { ConfigSource } from "../config.js";
import { sanitizeRedirect, signInUrl } from "../redirect.js";
import type { User } from "../types.js";
import type { FormAction } from "./actions.js";
import { clearSessionCookies } from "./cookies.js";
import { type AuthFormState, formString, requiredFields, stateFromProblem, unavailableState } from "./form-state.js";
import { callApplyingCookies } from "./request.js";
import { parseJson, type UpstreamResult } from "./upstream.js";

/**
 * The account flows of DESIGN.md "Account: email, verification, recovery,
 * lifecycle": each a server action for `useActionState` that also works as a
 * plain form POST without JavaScript. The three that take a mail token
 * (`resetPassword`, `verifyEmail`, `confirmEmailChange`) are meant for a page
 * whose link only shows a form: the token is spent by the POST, never by
 * opening the link, because mail scanners open links.
 */
export interface AccountActions {
  /**
   * Form field `email`. Always the same success for an address with or
   * without an account (tessera answers the same bytes), so the form cannot
   * tell anyone which addresses have accounts.
   */
  requestPasswordReset: FormAction;
  /**
   * Form fields `token` (from the mailed link), `new_password`, optional
   * `next`. On success tessera signs this browser in (its cookies are
   * applied) and ends every other session of the user; then a redirect to
   * `next` (sanitised) or `afterSignInPath`. A bad, expired or used token
   * gives code `invalid_token`.
   */
  resetPassword: FormAction;
  /** Form field `token` from the mailed link. Success refreshes the page's data (a "verify" banner goes). */
  verifyEmail: FormAction;
  /**
   * With a form field `email` (signed out, e.g. after `signIn` answered
   * `email_not_verified`): a new link if that address is waiting for
   * verification, the same success either way. Without one: a new link to
   * the signed-in user's own address (at most 3 an hour, then code
   * `rate_limited`); signed out, a redirect to sign in with `?next=`.
   */
  resendVerification: FormAction;
  /**
   * Form fields `new_email`, `current_password`, optional `next`. Mails a
   * confirmation link to the new address and a notice to the current one;
   * the address changes only when the link is used (`confirmEmailChange`).
   */
  changeEmail: FormAction;
  /** Form field `token` from the mail `changeEmail` sent. Success refreshes the page's data. */
  confirmEmailChange: FormAction;
  /** Form field `name`, optional `next`. Success refreshes the page's data. */
  updateProfile: FormAction;
  /**
   * Form fields `current_password` (empty for a user who never had one: then
   * tessera wants a session under 5 minutes old, else code
   * `reauthentication_required`), `confirm` (any value: a ticked box, so a
   * stray click deletes nothing), optional `next`. On success the cookies
   * are cleared and the browser goes to `afterSignOutPath`.
   */
  deleteAccount: FormAction;
}

const RESET_SENT = "If an account exists for that address, we sent it a link to choose a new password. Check your inbox.";
const RESEND_SENT = "If that address is waiting to be verified, we sent it a new link. Check your inbox.";
const INVALID_LINK = "This link is invalid, has expired or was already used.";

/** Whether the answer is a success: tessera's 200, 202 or 204. */
function succeeded(result: UpstreamResult): boolean {
  return result.status === 200 || result.status === 202 || result.status === 204;
}

function userOf(result: UpstreamResult): User | null {
  const body = parseJson(result.body);
  if (typeof body !== "object" || body === null) return null;
  const user = (body as Record<string, unknown>).user;
  if (typeof user !== "object" || user === null || typeof (user as Record<string, unknown>).email !== "string") return null;
  return user as User;
}

export function createAccountActions(config: ConfigSource): AccountActions {
  /**
   * A signed-in flow whose session has ended meanwhile (signed out elsewhere,
   * expired): sign in again and come back to the form's `next`.
   */
  function redirectWhenSignedOut(result: UpstreamResult, formData: FormData): void {
    if (result.status === 401) redirect(signInUrl(config().paths.signInPath, formString(formData, "next")));
  }

  /** A token action's refusal when the form came without a token (a link cut short by a mail client). */
  function missingToken(formData: FormData, message: string): AuthFormState | null {
    if (formString(formData, "token").trim() !== "") return null;
    return { status: "error", code: "invalid_token", message };
  }

  async function requestPasswordReset(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const email = formString(formData, "email");
    const values = { email };
    const missing = requiredFields(formData, { email: "Email" });
    if (missing) return { status: "error", fieldErrors: missing, values };
    const result = await callApplyingCookies(config(), { method: "POST", path: "/v1/password/forgot", json: { email }, forwardIntent: true });
    if (!result) return { ...unavailableState, values };
    if (succeeded(result)) return { status: "success", message: RESET_SENT, values };
    return { ...stateFromProblem(result.status, parseJson(result.body)), values };
  }

  async function resetPassword(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const noToken = missingToken(formData, `${INVALID_LINK} Ask for a new one.`);
    if (noToken) return noToken;
    const missing = requiredFields(formData, { new_password: "New password" });
    if (missing) return { status: "error", fieldErrors: missing };
    const result = await callApplyingCookies(config(), {
      method: "POST",
      path: "/v1/password/reset",
      json: { token: formString(formData, "token"), new_password: formString(formData, "new_password") },
      forwardIntent: true,
    });
    if (!result) return unavailableState;
    if (result.status === 200) redirect(sanitizeRedirect(formString(formData, "next"), config().afterSignInPath));
    return stateFromProblem(result.status, parseJson(result.body), { invalid_token: `${INVALID_LINK} Ask for a new one.` });
  }

  async function verifyEmail(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const noToken = missingToken(formData, INVALID_LINK);
    if (noToken) return noToken;
    const result = await callApplyingCookies(config(), {
      method: "POST",
      path: "/v1/email/verify",
      json: { token: formString(formData, "token") },
      forwardIntent: true,
    });
    if (!result) return unavailableState;
    if (result.status === 200) {
      refresh();
      const user = userOf(result);
      return { status: "success", message: user ? `${user.email} is verified.` : "Your email address is verified." };
    }
    return stateFromProblem(result.status, parseJson(result.body), {
      invalid_token: `${INVALID_LINK} Signed in, you can ask for a new one on your account page.`,
    });
  }

  async function resendVerification(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    if (formData.has("email")) {
      const email = formString(formData, "email");
      const values = { email };
      const missing = requiredFields(formData, { email: "Email" });
      if (missing) return { status: "error", fieldErrors: missing, values };
      const result = await callApplyingCookies(config(), { method: "POST", path: "/v1/email/verify/resend", json: { email }, forwardIntent: true });
      if (!result) return { ...unavailableState, values };
      if (succeeded(result)) return { status: "success", message: RESEND_SENT, values };
      return { ...stateFromProblem(result.status, parseJson(result.body)), values };
    }
    const result = await callApplyingCookies(config(), { method: "POST", path: "/v1/email/verify/send", forwardIntent: true });
    if (!result) return unavailableState;
    if (succeeded(result)) return { status: "success", message: "We sent a new link to your address. Open it to verify." };
    redirectWhenSignedOut(result, formData);
    return stateFromProblem(result.status, parseJson(result.body), {
      rate_limited: "You have asked for several links already. Use the newest one, or try again in an hour.",
    });
  }

  async function changeEmail(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const newEmail = formString(formData, "new_email");
    const values = { new_email: newEmail };
    const missing = requiredFields(formData, { new_email: "New email", current_password: "Current password" });
    if (missing) return { status: "error", fieldErrors: missing, values };
    const result = await callApplyingCookies(config(), {
      method: "POST",
      path: "/v1/email/change",
      json: { new_email: newEmail, current_password: formString(formData, "current_password") },
      forwardIntent: true,
    });
    if (!result) return { ...unavailableState, values };
    if (succeeded(result)) {
      return {
        status: "success",
        message: `We sent a link to ${newEmail}. Your address changes when you open it; until then, sign in with the current one.`,
      };
    }
    redirectWhenSignedOut(result, formData);
    const state = stateFromProblem(result.status, parseJson(result.body));
    if (state.code === "email_taken") {
      state.fieldErrors = { new_email: "An account with this email already exists." };
      state.message = "Please correct the highlighted fields.";
    }
    if (state.code === "email_domain_not_allowed") {
      state.fieldErrors = { new_email: "Use an address at a domain that may sign up." };
      state.message = "Please correct the highlighted fields.";
    }
    return { ...state, values };
  }

  async function confirmEmailChange(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const noToken = missingToken(formData, INVALID_LINK);
    if (noToken) return noToken;
    const result = await callApplyingCookies(config(), {
      method: "POST",
      path: "/v1/email/change/confirm",
      json: { token: formString(formData, "token") },
      forwardIntent: true,
    });
    if (!result) return unavailableState;
    if (result.status === 200) {
      refresh();
      const user = userOf(result);
      return { status: "success", message: user ? `Your email address is now ${user.email}.` : "Your email address is changed." };
    }
    return stateFromProblem(result.status, parseJson(result.body), {
      invalid_token: `${INVALID_LINK} Signed in, you can start the change again on your account page.`,
      email_taken: "Another account has taken this address meanwhile, so yours was not changed.",
    });
  }

  async function updateProfile(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const name = formString(formData, "name");
    const values = { name };
    const result = await callApplyingCookies(config(), { method: "PATCH", path: "/v1/user", json: { name }, forwardIntent: true });
    if (!result) return { ...unavailableState, values };
    if (result.status === 200) {
      refresh();
      return { status: "success", message: "Your name is saved.", values };
    }
    redirectWhenSignedOut(result, formData);
    return { ...stateFromProblem(result.status, parseJson(result.body)), values };
  }

  async function deleteAccount(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    if (formString(formData, "confirm") === "") {
      return { status: "error", fieldErrors: { confirm: "Tick the box to confirm that your account should be deleted." } };
    }
    const currentPassword = formString(formData, "current_password");
    const resolved = config();
    const result = await callApplyingCookies(resolved, {
      method: "DELETE",
      path: "/v1/user",
      // A user who never had a password sends none; tessera then checks the session's age.
      json: currentPassword === "" ? {} : { current_password: currentPassword },
      forwardIntent: true,
    });
    if (!result) return unavailableState;
    if (succeeded(result)) {
      // tessera cleared the cookies already; clearing them here too means no
      // answer of a proxy in between can leave this browser holding them.
      clearSessionCookies(await cookies());
      redirect(resolved.afterSignOutPath);
    }
    redirectWhenSignedOut(result, formData);
    return stateFromProblem(result.status, parseJson(result.body), {
      reauthentication_required: "For your safety, sign out and sign in again, then delete the account within 5 minutes.",
    });
  }

  return {
    requestPasswordReset,
    resetPassword,
    verifyEmail,
    resendVerification,
    changeEmail,
    confirmEmailChange,
    updateProfile,
    deleteAccount,
  };
}
