/**
 * `@tessera/next/server`: everything that holds the BFF key or talks to
 * tessera. `server-only` makes importing it from a client component a build
 * error, so the key cannot reach a browser bundle.
 */
import "server-only";

export { createTessera } from "./tessera.js";
export { tessera, getActivity, requireRole } from "./default.js";
export type { Tessera, AdminFunctions } from "./tessera.js";
export type { AdminReaders, AdminUserQuery, AuditQuery } from "./admin.js";
export type { AdminActions } from "./admin-actions.js";
export { createAuthRouteHandler, isAllowedPath } from "./route-handler.js";
export type { AuthRouteHandler, AuthRouteHandlers } from "./route-handler.js";
export type { AuthActions, FormAction } from "./actions.js";
export type { AccountActions } from "./account-actions.js";
export type { SessionFunctions } from "./session.js";
export type { MfaFunctions } from "./mfa.js";
export type { ActivityFunctions } from "./activity.js";
export type {
  AuditEvent,
  AuditEventKind,
  ActivityEvent,
  ActivityList,
  User,
  AdminUser,
  AdminUserPage,
  AdminUserDetail,
  AdminUserSession,
  AuditPage,
} from "../types.js";
export { totpQrSvg } from "./qr.js";
export type { QrSvgOptions } from "./qr.js";
export { getOAuthProviders, oauthProviderLabel } from "./oauth.js";
export type { OAuthEnv, IdentityFunctions } from "./oauth.js";
export { FORWARDED_REQUEST_HEADERS } from "./headers.js";
