import { type ConfigSource, lazyConfig, type ResolvedConfig, type TesseraConfig } from "../config.js";
import { isTesseraError } from "../errors.js";
import { PROVIDER_NAME_PATTERN } from "../oauth.js";
import { sanitizeRedirect } from "../redirect.js";
import { MAX_BODY_BYTES, readLimitedBody } from "./body.js";
import { downstreamHeaders, upstreamHeaders } from "./headers.js";
import { problemResponse } from "./problem.js";
import { fetchUpstream } from "./upstream.js";

const ID = "[A-Za-z0-9_-]{1,128}";
const PROVIDER = PROVIDER_NAME_PATTERN;

/**
 * The only `/v1/*` paths a browser may reach through the BFF. Segments are
 * matched on the raw (still percent-encoded) path, so `%2F` or `..` never
 * match. Everything else, including `/healthz` and `/metrics`, is a 404.
 */
const ALLOWED_PATHS: readonly RegExp[] = [
  "register",
  "login",
  "logout",
  "session",
  "sessions",
  `sessions/${ID}`,
  "password",
  "password/forgot",
  "password/reset",
  "email/verify",
  "email/verify/send",
  "email/verify/resend",
  "email/change",
  "email/change/confirm",
  "user",
  "account/activity",
  "token",
  "token/revoke",
  "identities",
  `identities/${PROVIDER}`,
  `oauth/${PROVIDER}/start`,
  `oauth/${PROVIDER}/callback`,
  "login/mfa",
  "mfa",
  "mfa/totp",
  "mfa/totp/confirm",
  "mfa/recovery-codes",
  "passkeys",
  `passkeys/${ID}`,
  "passkeys/register/start",
  "passkeys/register/finish",
  "passkeys/login/start",
  "passkeys/login/finish",
].map((pattern) => new RegExp(`^${pattern}$`));

export function isAllowedPath(path: string): boolean {
  return ALLOWED_PATHS.some((pattern) => pattern.test(path));
}

/** `/api/auth/sessions/abc` → `sessions/abc`, or null when outside the base path. */
export function relativeAuthPath(pathname: string, basePath: string): string | null {
  const prefix = `${basePath}/`;
  if (!pathname.startsWith(prefix)) return null;
  return pathname.slice(prefix.length);
}

export type AuthRouteHandler = (request: Request) => Promise<Response>;

export interface AuthRouteHandlers {
  GET: AuthRouteHandler;
  POST: AuthRouteHandler;
  /** `PATCH /v1/user` (the profile) and `PATCH /v1/passkeys/{id}` (a passkey's name). */
  PATCH: AuthRouteHandler;
  DELETE: AuthRouteHandler;
}

const OAUTH_START = new RegExp(`^oauth/${PROVIDER}/start$`);

/**
 * The query sent upstream. tessera checks `return_to` itself; the BFF puts
 * it through the same sanitiser as `?next=` so an unsafe one never leaves
 * the app (it becomes "/", as tessera would make it).
 */
function upstreamSearch(path: string, url: URL): string {
  if (!OAUTH_START.test(path) || !url.searchParams.has("return_to")) return url.search;
  const values = url.searchParams.getAll("return_to");
  const safe = sanitizeRedirect(values[0], "/");
  if (values.length === 1 && safe === values[0]) return url.search;
  const params = new URLSearchParams(url.searchParams);
  params.set("return_to", safe);
  return `?${params.toString()}`;
}

export async function forwardAuthRequest(request: Request, config: ResolvedConfig): Promise<Response> {
  const url = new URL(request.url);
  const path = relativeAuthPath(url.pathname, config.paths.basePath);
  if (path === null || !isAllowedPath(path)) {
    return problemResponse(404, "not_found", "no such auth endpoint");
  }
  const body = await readLimitedBody(request, MAX_BODY_BYTES);
  if (body.kind === "too_large") {
    return problemResponse(413, "payload_too_large", `request body over ${MAX_BODY_BYTES} bytes`);
  }
  try {
    const upstream = await fetchUpstream(config, `/v1/${path}${upstreamSearch(path, url)}`, {
      method: request.method,
      headers: upstreamHeaders(request.headers, config),
      body: body.kind === "body" ? body.bytes : undefined,
    });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: downstreamHeaders(upstream.headers),
    });
  } catch (error) {
    if (isTesseraError(error) && (error.code === "upstream_timeout" || error.code === "upstream_unavailable")) {
      return problemResponse(503, error.code, error.message, { "retry-after": "1" });
    }
    throw error;
  }
}

/** The route handlers over a config resolved elsewhere (`createTessera` hands its own down). */
export function authRouteHandlers(config: ConfigSource): AuthRouteHandlers {
  // async: a config error becomes a rejected promise, as for any other failure.
  const handle: AuthRouteHandler = async (request) => forwardAuthRequest(request, config());
  return { GET: handle, POST: handle, PATCH: handle, DELETE: handle };
}

/**
 * The route handler alone, for an app that uses nothing else of the server
 * kit; the config is resolved on the first request. With `createTessera`,
 * export `tessera.handlers` instead, which shares its config.
 * `app/api/auth/[...tessera]/route.ts`:
 * `export const { GET, POST, PATCH, DELETE } = createAuthRouteHandler(config);`
 */
export function createAuthRouteHandler(config: TesseraConfig = {}): AuthRouteHandlers {
  return authRouteHandlers(lazyConfig(config));
}
