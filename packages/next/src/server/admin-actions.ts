import { refresh } from "next/cache";
import { redirect } from "next/navigation";
import type { ConfigSource } from "../config.js";
import { isProblem } from "../errors.js";
import { sanitizeRedirect, signInUrl } from "../redirect.js";
import type { FormAction } from "./actions.js";
import { type SessionSource, adminRefusal, adminUserPath, isAdminUser, isUserId } from "./admin.js";
import { type AuthFormState, formString, stateFromProblem, unavailableState } from "./form-state.js";
import { callApplyingCookies, type TesseraCall } from "./request.js";
import { parseJson, type UpstreamResult } from "./upstream.js";

/**
 * Server actions over the admin API for `useActionState`, each also a plain
 * form POST without JavaScript. Every form names its user with the field
 * `user_id`, and may send `next`: where sign-in comes back to when the
 * session ended meanwhile (a 401 redirects there). tessera checks the role
 * and the second factor on every call, so these are safe to expose; the
 * page should still call `requireRole("admin")`.
 *
 * Refusals are error states with a stable `code`: `second_factor_required`
 * (an administrator whose session did not prove a second factor),
 * `admin_required`, `not_found` (the user is gone), `invalid_request` (no
 * or a malformed `user_id`), `upstream_unavailable`.
 */
export interface AdminActions {
  /**
   * Form fields `user_id`, `disabled` (`true` to disable, `false` to enable).
   * Disabling ends every session and refresh token of the user at once;
   * they cannot sign in until enabled again. Refreshes the page's data.
   */
  setUserDisabled: FormAction;
  /**
   * Form fields `user_id` and `add` or `remove` (one role: 1 to 64 of a-z,
   * 0-9, `_ - . :`). The user's roles are read, changed and written back;
   * their sessions show the change on their next request. A role tessera
   * refuses is a field error on `role`. Refreshes the page's data.
   */
  changeUserRoles: FormAction;
  /** Form field `user_id`. Signs the user out everywhere: every session and refresh token ends. */
  revokeUserSessions: FormAction;
  /** Form field `user_id`. Mails the user a link to choose a new password (nobody else sees it). */
  sendPasswordReset: FormAction;
  /**
   * Form fields `user_id`, `confirm` (any value: a ticked box), optional
   * `redirect_to` (a same-origin path, where the browser goes after; else a
   * success state). Deletes the user and everything that is theirs.
   */
  deleteUser: FormAction;
}

const MESSAGES: Partial<Record<string, string>> = {
  second_factor_required: "Sign in with a second factor (an authenticator app code or a passkey) to use admin.",
  admin_required: "Only administrators can do this.",
  not_found: "This user no longer exists.",
};
const ROLE = /^[a-z0-9_.:-]{1,64}$/;
const ROLE_RULE = "A role is 1 to 64 of a-z, 0-9, _ - . and :.";

function succeeded(result: UpstreamResult): boolean {
  return result.status === 200 || result.status === 202 || result.status === 204;
}

export function createAdminActions(config: ConfigSource, getSession: SessionSource): AdminActions {
  /**
   * One admin call for a form: tessera's answer when it succeeded, else the
   * form state that says why (signed out: a redirect to sign in).
   */
  async function call(formData: FormData, request: TesseraCall): Promise<{ state: AuthFormState } | { result: UpstreamResult }> {
    const result = await callApplyingCookies(config(), request);
    if (!result) return { state: unavailableState };
    if (succeeded(result)) return { result };
    if (result.status === 401) redirect(signInUrl(config().paths.signInPath, formString(formData, "next")));
    const body = parseJson(result.body);
    if (result.status === 403 && isProblem(body) && body.code === "admin_required") {
      const code = await adminRefusal(getSession);
      return { state: { status: "error", code, message: MESSAGES[code] ?? "" } };
    }
    return { state: stateFromProblem(result.status, body, MESSAGES) };
  }

  /** The form's `user_id`, or the state that says it is missing. */
  function userIdOf(formData: FormData): string | AuthFormState {
    const id = formString(formData, "user_id").trim();
    return isUserId(id) ? id : { status: "error", code: "invalid_request", message: "Choose a user first." };
  }

  async function setUserDisabled(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const id = userIdOf(formData);
    if (typeof id !== "string") return id;
    const value = formString(formData, "disabled");
    if (value !== "true" && value !== "false") return { status: "error", code: "invalid_request", message: "Choose whether to disable or enable the user." };
    const disabled = value === "true";
    const outcome = await call(formData, { method: "PATCH", path: adminUserPath(id), json: { disabled }, forwardIntent: true });
    if ("state" in outcome) return outcome.state;
    refresh();
    return {
      status: "success",
      message: disabled ? "The user is disabled: their sessions have ended and they cannot sign in." : "The user is enabled: they can sign in again.",
    };
  }

  async function changeUserRoles(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const id = userIdOf(formData);
    if (typeof id !== "string") return id;
    const adding = formData.has("add");
    const role = formString(formData, adding ? "add" : "remove").trim();
    const values = { role };
    if (role === "") return { status: "error", fieldErrors: { role: "Role is required." }, values };
    if (!ROLE.test(role)) return { status: "error", code: "validation_failed", fieldErrors: { role: ROLE_RULE }, values };
    // The API takes the whole list: read it now rather than trust the page's copy.
    const read = await call(formData, { method: "GET", path: adminUserPath(id), forwardIntent: false });
    if ("state" in read) return { ...read.state, values };
    const user = (parseJson(read.result.body) as Record<string, unknown> | null)?.user;
    if (!isAdminUser(user)) return { status: "error", code: "upstream_error", message: "The sign-in service answered something unexpected. Please try again.", values };
    if (adding === user.roles.includes(role)) {
      return { status: "success", message: adding ? `The user already has the role ${role}.` : `The user does not have the role ${role}.` };
    }
    const roles = adding ? [...user.roles, role] : user.roles.filter((r) => r !== role);
    const outcome = await call(formData, { method: "PATCH", path: adminUserPath(id), json: { roles }, forwardIntent: true });
    if ("state" in outcome) {
      const state = outcome.state;
      if (state.code === "validation_failed") return { status: "error", code: state.code, fieldErrors: { role: ROLE_RULE }, values };
      return { ...state, values };
    }
    refresh();
    return { status: "success", message: adding ? `Role ${role} added.` : `Role ${role} removed.` };
  }

  async function revokeUserSessions(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const id = userIdOf(formData);
    if (typeof id !== "string") return id;
    const outcome = await call(formData, { method: "DELETE", path: adminUserPath(id, "/sessions"), forwardIntent: true });
    if ("state" in outcome) return outcome.state;
    refresh();
    return { status: "success", message: "The user is signed out everywhere: every session and refresh token has ended." };
  }

  async function sendPasswordReset(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const id = userIdOf(formData);
    if (typeof id !== "string") return id;
    const outcome = await call(formData, { method: "POST", path: adminUserPath(id, "/password-reset"), forwardIntent: true });
    if ("state" in outcome) return outcome.state;
    return { status: "success", message: "A link to choose a new password is on its way to the user's address." };
  }

  async function deleteUser(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const id = userIdOf(formData);
    if (typeof id !== "string") return id;
    if (formString(formData, "confirm") === "") {
      return { status: "error", fieldErrors: { confirm: "Tick the box to confirm that this user should be deleted." } };
    }
    const outcome = await call(formData, { method: "DELETE", path: adminUserPath(id), forwardIntent: true });
    if ("state" in outcome) return outcome.state;
    const after = formString(formData, "redirect_to");
    if (after !== "") redirect(sanitizeRedirect(after, "/"));
    refresh();
    return { status: "success", message: "The user is deleted." };
  }

  return { setUserDisabled, changeUserRoles, revokeUserSessions, sendPasswordReset, deleteUser };
}
