/** Cookie and header names fixed by the server contract (DESIGN.md). */
export const SESSION_COOKIE = "__Host-tessera_session";
export const CSRF_COOKIE = "__Host-tessera_csrf";
export const OAUTH_COOKIE = "__Host-tessera_oauth";
/** The pending second-factor challenge after a password (or provider) sign-in; HttpOnly, 5 minutes. */
export const MFA_COOKIE = "__Host-tessera_mfa";
export const CSRF_HEADER = "x-csrf-token";
export const BFF_KEY_HEADER = "tessera-bff-key";
export const CLIENT_IP_HEADER = "tessera-client-ip";

/** Where the kit's route handler is mounted by default. */
export const DEFAULT_BASE_PATH = "/api/auth";
export const DEFAULT_SIGN_IN_PATH = "/login";
/** Where a sign-in that needs a second factor continues: tessera's provider callback sends the browser here too. */
export const DEFAULT_MFA_PATH = "/login/mfa";
export const DEFAULT_TIMEOUT_MS = 5000;

/** The BroadcastChannel on which tabs tell each other the session changed. */
export const SESSION_CHANNEL = "tessera-session";
