/**
 * `@tessera/next`: what every part of the kit shares: configuration and the
 * app's auth paths, the server's types, errors with stable codes, redirect sanitising, OAuth link
 * and error helpers, and the framework-agnostic token client. Nothing here
 * touches secrets or the DOM.
 */
export { defineConfig } from "./config.js";
export type { TesseraConfig } from "./config.js";
export { defineAuthPaths } from "./paths.js";
export type { AuthPaths, AuthPathsInput } from "./paths.js";
export { TesseraError, isTesseraError, isProblem } from "./errors.js";
export type { TesseraErrorCode, TesseraErrorOptions } from "./errors.js";
export type {
  User,
  Session,
  SessionData,
  DeviceSession,
  SessionList,
  FieldError,
  Problem,
  TokenResponse,
  AuthFormState,
  Identity,
  IdentityList,
  OAuthProvider,
  AuthenticationMethod,
  MfaStatus,
  Passkey,
  PasskeyList,
  TotpSetup,
  AuditEvent,
  AuditEventKind,
  ActivityEvent,
  ActivityList,
  AdminUser,
  AdminUserPage,
  AdminUserDetail,
  AdminUserSession,
  AuditPage,
} from "./types.js";
export { initialAuthFormState } from "./types.js";
export { sanitizeRedirect, signInUrl } from "./redirect.js";
export {
  oauthStartHref,
  oauthErrorMessage,
  isProviderName,
  defaultProviderLabel,
  OAUTH_ERROR_MESSAGES,
  OAUTH_GENERIC_ERROR_MESSAGE,
  PROVIDER_NAME_PATTERN,
} from "./oauth.js";
export type { OAuthStartOptions } from "./oauth.js";
export {
  SESSION_COOKIE,
  CSRF_COOKIE,
  CSRF_HEADER,
  MFA_COOKIE,
  DEFAULT_BASE_PATH,
  DEFAULT_SIGN_IN_PATH,
  DEFAULT_MFA_PATH,
} from "./constants.js";
export { createTokenClient, memoryStorage, webStorage } from "./token-client.js";
export type { TokenClient, TokenClientOptions, TokenSet, TokenStorage } from "./token-client.js";
