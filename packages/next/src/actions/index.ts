"use server";
/**
 * `@tessera/next/actions`: the server actions of the default, env-configured
 * instance (`tessera` of `@tessera/next/server`), ready for `useActionState`
 * or a form's `action`, so an app that keeps the default paths needs no
 * "use server" module of its own:
 *
 * `import { signIn } from "@tessera/next/actions";`
 *
 * Each one only hands the form to that instance (the fields are those of
 * `AuthActions`, `AccountActions`, `IdentityFunctions`, `MfaFunctions` and
 * `AdminActions`; the admin ones are prefixed `admin`). An app that sets
 * `paths`, `afterSignInPath` or `afterSignOutPath`, or does something of its
 * own around an action, writes its own "use server" module over its own
 * `createTessera(...)` instead.
 *
 * A "use server" module may export async functions only: hence one small
 * function per action rather than the instance's methods themselves.
 */
import { tessera } from "../server/default.js";
import type { AuthFormState } from "../types.js";

/** Form fields `email`, `password`, optional `next`; redirects on success. */
export async function signIn(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.signIn(previous, formData);
}

/** Form fields `email`, `password`, optional `name` and `next`; redirects on success (or `verification_sent`). */
export async function signUp(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.signUp(previous, formData);
}

/** Ends the session, clears the cookies, redirects to `/login`. */
export async function signOut(): Promise<never> {
  return tessera.signOut();
}

/** Form fields `current_password`, `new_password`, optional `next`. */
export async function changePassword(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.changePassword(previous, formData);
}

/** Form field `email`; the same success whether or not the address has an account. */
export async function requestPasswordReset(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.requestPasswordReset(previous, formData);
}

/** Form fields `token`, `new_password`, optional `next`; signs this browser in and redirects. */
export async function resetPassword(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.resetPassword(previous, formData);
}

/** Form field `token` from the mailed link. */
export async function verifyEmail(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.verifyEmail(previous, formData);
}

/** Optional form field `email` (signed out); without it, a new link to the signed-in user's address. */
export async function resendVerification(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.resendVerification(previous, formData);
}

/** Form fields `new_email`, `current_password`, optional `next`. */
export async function changeEmail(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.changeEmail(previous, formData);
}

/** Form field `token` from the mail `changeEmail` sent. */
export async function confirmEmailChange(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.confirmEmailChange(previous, formData);
}

/** Form field `name`, optional `next`. */
export async function updateProfile(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.updateProfile(previous, formData);
}

/** Form fields `current_password`, `confirm`, optional `next`; clears the cookies and redirects. */
export async function deleteAccount(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.deleteAccount(previous, formData);
}

/** Form field `provider`, optional `next`. */
export async function unlinkIdentity(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.unlinkIdentity(previous, formData);
}

/** Form field `code` or `recovery_code`, optional `next`: the second step of a sign-in; redirects on success. */
export async function verifyMfa(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.verifyMfa(previous, formData);
}

/** Form field `current_password` (empty in a session under 5 minutes old); success state has `totp`. */
export async function enrollTotp(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.enrollTotp(previous, formData);
}

/** Form field `code` (and the pending `secret`, `otpauth_uri`); success state has `recoveryCodes`. */
export async function confirmTotp(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.confirmTotp(previous, formData);
}

/** Form field `code` or `current_password`. */
export async function disableTotp(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.disableTotp(previous, formData);
}

/** Form field `code` or `current_password`; success state has the new `recoveryCodes`. */
export async function regenerateRecoveryCodes(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.regenerateRecoveryCodes(previous, formData);
}

/** Form fields `id`, `name`. */
export async function renamePasskey(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.renamePasskey(previous, formData);
}

/** Form field `id`. */
export async function deletePasskey(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.deletePasskey(previous, formData);
}

// The admin API (tessera checks the admin role and the session's second
// factor on every call; guard the pages with requireRole("admin") too).

/** Form fields `user_id`, `disabled` (`true` or `false`). */
export async function adminSetUserDisabled(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.setUserDisabled(previous, formData);
}

/** Form fields `user_id` and `add` or `remove` (one role). */
export async function adminChangeUserRoles(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.changeUserRoles(previous, formData);
}

/** Form field `user_id`: signs the user out everywhere. */
export async function adminRevokeUserSessions(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.revokeUserSessions(previous, formData);
}

/** Form field `user_id`: mails the user a password reset link. */
export async function adminSendPasswordReset(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.sendPasswordReset(previous, formData);
}

/** Form fields `user_id`, `confirm`, optional `redirect_to`. */
export async function adminDeleteUser(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.deleteUser(previous, formData);
}
