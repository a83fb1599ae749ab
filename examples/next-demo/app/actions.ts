"use server";

import type { AuthFormState } from "@tessera/next";
import { tessera } from "@/lib/auth";
import { forgetMailToken } from "@/lib/mail-token-cookie";

// Server actions must live in a "use server" module of the app; each one hands
// the form to the kit, which talks to tessera and applies its cookies.

export async function signInAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.signIn(previous, formData);
}

export async function signUpAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.signUp(previous, formData);
}

export async function changePasswordAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.changePassword(previous, formData);
}

export async function signOutAction(): Promise<void> {
  await tessera.signOut();
}

export async function unlinkIdentityAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.unlinkIdentity(previous, formData);
}

// The account flows (issue 19): password reset, email verification and
// change, profile, deletion. Each works as a plain form POST too.

export async function requestPasswordResetAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.requestPasswordReset(previous, formData);
}

export async function resetPasswordAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  try {
    return await tessera.resetPassword(previous, formData);
  } catch (error) {
    // Success is a redirect, thrown: the link's token is spent, so forget it.
    await forgetMailToken("/reset-password");
    throw error;
  }
}

export async function verifyEmailAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  // The spent token's cookie is left to expire: cleared now, the page would
  // re-render as "link incomplete" instead of showing the success message.
  return tessera.verifyEmail(previous, formData);
}

export async function resendVerificationAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.resendVerification(previous, formData);
}

export async function changeEmailAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.changeEmail(previous, formData);
}

export async function confirmEmailChangeAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.confirmEmailChange(previous, formData);
}

export async function updateProfileAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.updateProfile(previous, formData);
}

export async function deleteAccountAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.deleteAccount(previous, formData);
}

// Second factors and passkeys (issue 21): the code step of a sign-in, TOTP
// enrolment and its recovery codes, and the passkey list. Each works as a
// plain form POST too; adding a passkey and signing in with one need the
// browser's WebAuthn API (registerPasskey and signInWithPasskey of
// @tessera/next/client).

export async function verifyMfaAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.verifyMfa(previous, formData);
}

export async function enrollTotpAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.enrollTotp(previous, formData);
}

export async function confirmTotpAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.confirmTotp(previous, formData);
}

export async function disableTotpAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.disableTotp(previous, formData);
}

export async function regenerateRecoveryCodesAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.regenerateRecoveryCodes(previous, formData);
}

export async function renamePasskeyAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.renamePasskey(previous, formData);
}

export async function deletePasskeyAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.deletePasskey(previous, formData);
}

// Administration (issue 22): tessera checks the admin role and the
// session's second factor on every call; the /admin pages also call
// requireRole("admin"). Each works as a plain form POST too.

export async function setUserDisabledAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.setUserDisabled(previous, formData);
}

export async function changeUserRolesAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.changeUserRoles(previous, formData);
}

export async function revokeUserSessionsAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.revokeUserSessions(previous, formData);
}

export async function sendPasswordResetAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.sendPasswordReset(previous, formData);
}

export async function deleteUserAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.admin.deleteUser(previous, formData);
}
