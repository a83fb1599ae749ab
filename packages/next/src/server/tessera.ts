import { resolveConfig, type ResolvedConfig, type TesseraConfig } from "../config.js";
import { keepAliveFetch } from "./node-fetch.js";
import { createAccessTokenGetter } from "./access-token.js";
import { createAuthActions, type AuthActions } from "./actions.js";
import { createIdentityFunctions, type IdentityFunctions } from "./oauth.js";
import { createAuthRouteHandler, type AuthRouteHandlers } from "./route-handler.js";
import { createSessionFunctions, type SessionFunctions } from "./session.js";

export interface Tessera extends SessionFunctions, AuthActions, IdentityFunctions {
  /** Export from `app/api/auth/[...tessera]/route.ts`. */
  handlers: AuthRouteHandlers;
  /**
   * A short-lived JWT for the signed-in session, for calling resource servers;
   * cached per session, checked against `getSession()`. Throws `TesseraError`
   * `unauthenticated` when signed out or the session has ended.
   */
  getAccessToken(): Promise<string>;
}

/**
 * Configure the kit once, in the app's `lib/auth.ts`. The config is checked on
 * first use, not at import, because `next build` imports modules without the
 * runtime environment.
 */
export function createTessera(config: TesseraConfig): Tessera {
  let resolved: ResolvedConfig | undefined;
  const current = (): ResolvedConfig => (resolved ??= resolveConfig({ ...config, fetch: config.fetch ?? keepAliveFetch }));
  const session = createSessionFunctions(current);
  return {
    handlers: createAuthRouteHandler(config),
    ...session,
    ...createAuthActions(current),
    ...createIdentityFunctions(current),
    getAccessToken: createAccessTokenGetter(current, session.getSession),
  };
}
