/** The shapes of the Tessera server's JSON answers (see DESIGN.md, "Server contract"). */

export interface User {
  id: string;
  email: string;
  name: string | null;
  email_verified: boolean;
  roles: string[];
  created_at: string;
}

/**
 * How a session was signed in, as RFC 8176 "amr" values: `pwd` (password),
 * `otp` (a TOTP or recovery code), `hwk` (a passkey), `fed` (a provider),
 * `mfa` (more than one factor, or a passkey). Other values may come later.
 */
export type AuthenticationMethod = "pwd" | "otp" | "hwk" | "fed" | "mfa" | (string & {});

export interface Session {
  id: string;
  created_at: string;
  expires_at: string;
  absolute_expires_at: string;
  /** How this session was signed in, e.g. `["pwd"]`, `["pwd", "otp", "mfa"]`, `["hwk", "mfa"]`. */
  amr: AuthenticationMethod[];
}

/** What `GET /v1/session`, `POST /v1/login` and `POST /v1/register` answer. */
export interface SessionData {
  user: User;
  session: Session;
}

/** One row of `GET /v1/sessions`. */
export interface DeviceSession {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
}

export interface SessionList {
  sessions: DeviceSession[];
}

/** One row of `GET /v1/identities`: a provider account linked to the user. */
export interface Identity {
  /** The provider's configured name, e.g. `github`. */
  provider: string;
  /** The user's id at the provider. */
  subject: string;
  /** The email the provider gave when the identity was linked, if any. */
  email: string | null;
  created_at: string;
}

export interface IdentityList {
  identities: Identity[];
}

/** `GET /v1/mfa`: the signed-in user's second factors. */
export interface MfaStatus {
  totp_enabled: boolean;
  /** Unused recovery codes left (0 when TOTP is off). */
  recovery_codes_remaining: number;
  /** How many passkeys the user has registered. */
  passkeys: number;
}

/** One passkey of `GET /v1/passkeys` (and `register/finish`, `PATCH`). */
export interface Passkey {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  /** Whether the credential may be synced to other devices (WebAuthn BE flag). */
  backup_eligible: boolean;
  /** Whether it is synced now (WebAuthn BS flag). */
  backup_state: boolean;
}

export interface PasskeyList {
  passkeys: Passkey[];
}

/**
 * A TOTP enrolment waiting for its first code: what an authenticator app
 * needs, shown once. `qrSvg` is the `otpauth://` URI as an SVG QR code,
 * made on the server (no external service).
 */
export interface TotpSetup {
  /** The shared secret, base32, for typing into an app by hand. */
  secret: string;
  /** `otpauth://totp/…?secret=…&issuer=…`. */
  otpauthUri: string;
  /** A standalone `<svg>` element (role `img`, with a `<title>`). */
  qrSvg: string;
}

/**
 * What an audit event is about (`GET /v1/account/activity`). Later server
 * versions may add kinds: show an unknown one as it is rather than failing.
 */
export type AuditEventKind =
  | "sign_up"
  | "sign_in"
  | "sign_in_failed"
  | "mfa_challenge_failed"
  | "sign_out"
  | "session_revoked"
  | "password_changed"
  | "password_reset"
  | "email_verified"
  | "email_changed"
  | "factor_added"
  | "factor_removed"
  | "identity_linked"
  | "identity_unlinked"
  | "refresh_reuse_detected"
  | "user_disabled"
  | "user_enabled"
  | "roles_changed"
  | "user_deleted"
  | (string & {});

/** One security event of `GET /v1/account/activity` (see `getActivity()`). */
export interface AuditEvent {
  id: string;
  /** RFC 3339. */
  at: string;
  kind: AuditEventKind;
  user_id: string | null;
  /** Who did it: `user`, `admin:<id>`, `admin_key`, `cli` or `system`. */
  actor: string;
  /** The client's IP as the BFF forwarded it, when known. */
  ip: string | null;
  user_agent: string | null;
  /** What else is known (a session id, a provider, …); never a secret. */
  detail: Record<string, unknown>;
}

/** The same shape, by the name the account page uses. */
export type ActivityEvent = AuditEvent;

/** `GET /v1/account/activity`: the user's own last 50 events, newest first. */
export interface ActivityList {
  events: AuditEvent[];
}

/** A user as administrators see them (`/v1/admin/users`): whoami's user, and whether they are disabled. */
export interface AdminUser extends User {
  /** A disabled user cannot sign in; disabling ended their sessions. */
  disabled: boolean;
}

/** A page of `GET /v1/admin/users`: oldest first; `next_cursor` is null on the last page. */
export interface AdminUserPage {
  users: AdminUser[];
  /** Pass it as `cursor` for the next page. */
  next_cursor: string | null;
}

/** One live session of a user, as `GET /v1/admin/users/{id}` lists them (`current` is always false there). */
export type AdminUserSession = DeviceSession;

/** `GET /v1/admin/users/{id}`: the user with their linked providers, live sessions and second factors. */
export interface AdminUserDetail {
  user: AdminUser;
  identities: Identity[];
  sessions: AdminUserSession[];
  second_factors: MfaStatus;
}

/** A page of `GET /v1/admin/audit`: newest first; `next_cursor` is null on the last page. */
export interface AuditPage {
  events: AuditEvent[];
  /** Pass it as `cursor` for the next page. */
  next_cursor: string | null;
}

/** A provider configured for "Sign in with …" (see `getOAuthProviders()`). */
export interface OAuthProvider {
  /** As in `TESSERA_OAUTH_PROVIDERS`, e.g. `github`. */
  name: string;
  /** What buttons say, e.g. "GitHub". */
  label: string;
}

export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem details as the server sends them, with its stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  errors?: FieldError[];
}

/** OAuth 2.0 token response (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  scope?: string;
}

/** What the server actions return to `useActionState`. */
export interface AuthFormState {
  status: "idle" | "error" | "success";
  /** A message for the whole form. */
  message?: string;
  /** The server's stable problem code (e.g. `invalid_credentials`), when there was one. */
  code?: string;
  /**
   * Messages keyed by field name (`email`, `password`, `name`,
   * `current_password`, `new_password`, `new_email`, `confirm`, `code`,
   * `recovery_code`).
   */
  fieldErrors?: Partial<Record<string, string>>;
  /** Non-secret values echoed back so a form re-rendered without JavaScript keeps them. */
  values?: Partial<Record<"email" | "name" | "new_email" | "role", string>>;
  /** `enrollTotp` (and `confirmTotp` after a wrong code): the pending enrolment to show. */
  totp?: TotpSetup;
  /** `confirmTotp` and `regenerateRecoveryCodes`: the new recovery codes, shown once. */
  recoveryCodes?: string[];
}

export const initialAuthFormState: AuthFormState = { status: "idle" };
