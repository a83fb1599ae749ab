import { lazyConfig, type TesseraConfig } from "../config.js";
import { createAccessTokenGetter } from "./access-token.js";
import { createActivityFunctions, type ActivityFunctions } from "./activity.js";
import { createAdminActions, type AdminActions } from "./admin-actions.js";
import { createAdminReaders, type AdminReaders } from "./admin.js";
import { createAccountActions, type AccountActions } from "./account-actions.js";
import { createAuthActions, type AuthActions } from "./actions.js";
import { createMfaFunctions, type MfaFunctions } from "./mfa.js";
import { createIdentityFunctions, type IdentityFunctions } from "./oauth.js";
import { authRouteHandlers, type AuthRouteHandlers } from "./route-handler.js";
import { createSessionFunctions, type SessionFunctions } from "./session.js";

export interface Tessera extends SessionFunctions, AuthActions, AccountActions, IdentityFunctions, MfaFunctions, ActivityFunctions {
  /** Export from `app/api/auth/[...tessera]/route.ts`. */
  handlers: AuthRouteHandlers;
  /**
   * A short-lived JWT for the signed-in session, for calling resource servers;
   * cached per session, checked against `getSession()`. Throws `TesseraError`
   * `unauthenticated` when signed out or the session has ended.
   */
  getAccessToken(): Promise<string>;
  /**
   * The admin API for a signed-in administrator (role `admin`, a session
   * with a second factor): `listUsers`, `getUser`, `auditLog` for server
   * components, and server actions that change users. tessera checks every
   * call; still guard each admin page with `requireRole("admin")`.
   */
  admin: AdminFunctions;
}

export interface AdminFunctions extends AdminReaders, AdminActions {}

/**
 * Configure the kit once, in the app's `lib/auth.ts`. The config is resolved
 * once, on first use rather than at import (`next build` imports modules
 * without the runtime environment), and that one result serves the route
 * handler and every server function. `serverUrl`, `bffKey` and
 * `publicOrigin` left out come from `TESSERA_URL`, `TESSERA_BFF_KEY` and
 * `APP_ORIGIN` then, so `createTessera()` alone is a complete set-up with the
 * default paths (it is what `@tessera/next/server`'s `tessera` is).
 */
export function createTessera(config: TesseraConfig = {}): Tessera {
  const current = lazyConfig(config);
  const session = createSessionFunctions(current);
  return {
    handlers: authRouteHandlers(current),
    ...session,
    ...createAuthActions(current),
    ...createAccountActions(current),
    ...createIdentityFunctions(current),
    ...createMfaFunctions(current),
    ...createActivityFunctions(current),
    getAccessToken: createAccessTokenGetter(current, session.getSession),
    admin: { ...createAdminReaders(current, session.getSession), ...createAdminActions(current, session.getSession) },
  };
}
