import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import type { ConfigSource } from "../config.js";
import { isProblem } from "../errors.js";
import { sanitizeRedirect, signInUrl } from "../redirect.js";
import { clearSessionCookies } from "./cookies.js";
import {
  type AuthFormState,
  formString,
  requiredFields,
  stateFromProblem,
  unavailableState,
} from "./form-state.js";
import { callApplyingCookies } from "./request.js";
import { parseJson } from "./upstream.js";

export type FormAction = (previous: AuthFormState, formData: FormData) => Promise<AuthFormState>;

export interface AuthActions {
  /**
   * Form fields `email`, `password`, optional `next`. Redirects on success.
   * When the account has a second factor, tessera answers `mfa_required`
   * with a challenge cookie: it is applied and the browser goes to
   * `paths.mfaPath?next=…` (`next` sanitised) for `verifyMfa`.
   * With `TESSERA_EMAIL_VERIFICATION=required`, an unverified address gives
   * an error state with code `email_not_verified` and the email in `values`,
   * so the form can offer `resendVerification` for it.
   */
  signIn: FormAction;
  /**
   * Form fields `email`, `password`, optional `name` and `next`. Redirects on
   * success; when tessera starts no session (verification required) the
   * state is `success` with code `verification_sent` instead.
   */
  signUp: FormAction;
  /**
   * Form fields `current_password`, `new_password`, optional `next` (where to
   * come back after signing in again when the session has already ended).
   * Other sessions end; this one stays.
   */
  changePassword: FormAction;
  /** Ends the session, clears the cookies, redirects to the sign-out destination. */
  signOut(): Promise<never>;
}

/** Whether a sign-up answer started a session (`{user, session}`), not `{user}` alone. */
function startsSession(body: unknown): boolean {
  return typeof body === "object" && body !== null && typeof (body as Record<string, unknown>).session === "object";
}

/** Whether a sign-in answer asks for a second factor (401 problem `mfa_required`). */
export function mfaRequired(body: unknown): boolean {
  return isProblem(body) && body.code === "mfa_required";
}

export function createAuthActions(config: ConfigSource): AuthActions {
  async function signIn(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const email = formString(formData, "email");
    const values = { email };
    const missing = requiredFields(formData, { email: "Email", password: "Password" });
    if (missing) return { status: "error", fieldErrors: missing, values };
    const result = await callApplyingCookies(config(), {
      method: "POST",
      path: "/v1/login",
      json: { email, password: formString(formData, "password") },
      forwardIntent: true,
    });
    if (!result) return { ...unavailableState, values };
    const next = formString(formData, "next");
    if (result.status === 401 && mfaRequired(parseJson(result.body))) {
      // The challenge cookie (__Host-tessera_mfa) is applied already, with
      // the rest of tessera's Set-Cookie: the next page posts the code.
      redirect(signInUrl(config().paths.mfaPath, next));
    }
    if (result.status !== 200) {
      return {
        ...stateFromProblem(result.status, parseJson(result.body), {
          invalid_credentials: "Email or password is incorrect.",
          email_not_verified: "Verify your email address first: open the link we sent you, or ask for a new one.",
        }),
        values,
      };
    }
    redirect(sanitizeRedirect(next, config().afterSignInPath));
  }

  async function signUp(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const email = formString(formData, "email");
    const name = formString(formData, "name");
    const values = { email, name };
    const missing = requiredFields(formData, { email: "Email", password: "Password" });
    if (missing) return { status: "error", fieldErrors: missing, values };
    const payload: Record<string, string> = { email, password: formString(formData, "password") };
    if (name.trim() !== "") payload.name = name;
    const result = await callApplyingCookies(config(), { method: "POST", path: "/v1/register", json: payload, forwardIntent: true });
    if (!result) return { ...unavailableState, values };
    if (result.status !== 201 && result.status !== 200) {
      // The registration policy is tessera's (TESSERA_REGISTRATION,
      // TESSERA_REGISTRATION_EMAIL_DOMAINS): a check here alone would be
      // bypassed by posting to the route handler's /register.
      const state = stateFromProblem(result.status, parseJson(result.body), {
        registration_closed: "Sign-up is closed. Ask an administrator for an account.",
        email_domain_not_allowed: "Sign-up is not open to this email address.",
      });
      if (state.code === "email_domain_not_allowed") {
        state.fieldErrors = { email: "Use an address at a domain that may sign up." };
      }
      if (state.code === "email_taken") {
        state.fieldErrors = { email: "An account with this email already exists." };
        state.message = "Sign in instead, or use another email.";
      }
      return { ...state, values };
    }
    if (!startsSession(parseJson(result.body))) {
      // TESSERA_EMAIL_VERIFICATION=required: the account exists but nobody is
      // signed in until the address is verified, so redirecting to a
      // protected `next` would only bounce to the sign-in page.
      return {
        status: "success",
        code: "verification_sent",
        message: `Account created. We sent a link to ${email}: open it to verify your address, then sign in.`,
        values,
      };
    }
    redirect(sanitizeRedirect(formString(formData, "next"), config().afterSignInPath));
  }

  async function changePassword(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const missing = requiredFields(formData, { current_password: "Current password", new_password: "New password" });
    if (missing) return { status: "error", fieldErrors: missing };
    const result = await callApplyingCookies(config(), {
      method: "POST",
      path: "/v1/password",
      json: {
        current_password: formString(formData, "current_password"),
        new_password: formString(formData, "new_password"),
      },
      forwardIntent: true,
    });
    if (!result) return unavailableState;
    if (result.status === 204 || result.status === 200) {
      return { status: "success", message: "Password changed. Your other devices have been signed out." };
    }
    const body = parseJson(result.body);
    const state = stateFromProblem(result.status, body);
    if (state.code === "unauthenticated") redirect(signInUrl(config().paths.signInPath, formString(formData, "next")));
    if (result.status === 401 || state.code === "invalid_credentials") {
      return { status: "error", code: state.code ?? "invalid_credentials", fieldErrors: { current_password: "Current password is incorrect." } };
    }
    return state;
  }

  async function signOut(): Promise<never> {
    const resolved = config();
    await callApplyingCookies(resolved, { method: "POST", path: "/v1/logout", forwardIntent: true });
    // Whatever tessera answered (even if it was down), this browser is signed out.
    clearSessionCookies(await cookies());
    redirect(resolved.afterSignOutPath);
  }

  return { signIn, signUp, changePassword, signOut };
}
