import { DEFAULT_BASE_PATH, DEFAULT_MFA_PATH, DEFAULT_SIGN_IN_PATH } from "./constants.js";
import { TesseraError } from "./errors.js";

/**
 * Where the kit's pieces meet in the app: the route handler's mount point and
 * the sign-in page. Plain data, safe in client bundles, and passable as a prop
 * from a server component to a client one.
 */
export interface AuthPaths {
  /** Where the route handler is mounted (`app/api/auth/[...tessera]/route.ts` → `/api/auth`). */
  readonly basePath: string;
  /** The app's sign-in page. */
  readonly signInPath: string;
  /**
   * The page that asks for the second factor (a TOTP or recovery code) when
   * a sign-in needs one. tessera's provider callback sends the browser to
   * `/login/mfa`, the default; `signIn` redirects here.
   */
  readonly mfaPath: string;
}

/** What {@link defineAuthPaths} takes: each path optional, defaults `/api/auth`, `/login` and `/login/mfa`. */
export interface AuthPathsInput {
  basePath?: string | undefined;
  signInPath?: string | undefined;
  mfaPath?: string | undefined;
}

function normalisePath(name: string, value: string): string {
  if (!value.startsWith("/")) {
    throw new TesseraError("config_invalid", `${name} must start with "/", got ${JSON.stringify(value)}`);
  }
  return value.endsWith("/") && value.length > 1 ? value.slice(0, -1) : value;
}

/**
 * The app's auth paths, written once (e.g. in `lib/auth-paths.ts`) and handed
 * to `createTessera`, `createAuthProxy`, `<SessionProvider>`,
 * `createSessionFetcher` and `oauthStartHref`. Each must start with "/"
 * (`config_invalid` otherwise); a trailing "/" is dropped.
 */
export function defineAuthPaths(paths: AuthPathsInput = {}): AuthPaths {
  return Object.freeze({
    basePath: normalisePath("basePath", paths.basePath ?? DEFAULT_BASE_PATH),
    signInPath: normalisePath("signInPath", paths.signInPath ?? DEFAULT_SIGN_IN_PATH),
    mfaPath: normalisePath("mfaPath", paths.mfaPath ?? DEFAULT_MFA_PATH),
  });
}
