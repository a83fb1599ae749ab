/**
 * What each audit event kind says on the demo's pages (the account page's
 * Recent activity and the admin audit log); a kind a newer tessera adds is
 * shown as its name.
 */
export const EVENT_KIND_WORDS: Readonly<Record<string, string>> = {
  sign_up: "Account created",
  sign_in: "Signed in",
  sign_in_failed: "Failed sign-in (wrong password)",
  mfa_challenge_failed: "Failed sign-in (wrong second-step code)",
  sign_out: "Signed out",
  session_revoked: "Signed out a device",
  password_changed: "Password changed",
  password_reset: "Password reset by email",
  email_verified: "Email address verified",
  email_changed: "Email address changed",
  factor_added: "Second step added (authenticator app or passkey)",
  factor_removed: "Second step removed (authenticator app or passkey)",
  identity_linked: "Sign-in provider linked",
  identity_unlinked: "Sign-in provider unlinked",
  refresh_reuse_detected: "A stolen sign-in token was used: those sessions were ended",
  user_disabled: "Account disabled",
  user_enabled: "Account enabled again",
  roles_changed: "Roles changed",
  user_deleted: "Account deleted",
};

export function eventKindWords(kind: string): string {
  return EVENT_KIND_WORDS[kind] ?? kind.replace(/_/g, " ");
}
