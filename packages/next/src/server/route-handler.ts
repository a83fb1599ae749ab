import { resolveConfig, type ResolvedConfig, type TesseraConfig } from "../config.js";
import { isTesseraError } from "../errors.js";
import { downstreamHeaders, upstreamHeaders } from "./headers.js";
import { problemResponse } from "./problem.js";
import { fetchUpstream } from "./upstream.js";

/** Largest request body relayed; tessera itself refuses more than 64 KiB. */
const MAX_BODY_BYTES = 64 * 1024;

const ID = "[A-Za-z0-9_-]{1,128}";
const PROVIDER = "[a-z0-9][a-z0-9_-]{0,63}";

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
  "token",
  "token/revoke",
  "identities",
  `identities/${PROVIDER}`,
  `oauth/${PROVIDER}/start`,
  `oauth/${PROVIDER}/callback`,
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
  DELETE: AuthRouteHandler;
}

async function readBody(request: Request): Promise<ArrayBuffer | undefined | "too_large"> {
  if (request.method === "GET" || request.method === "HEAD" || request.body === null) return undefined;
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return "too_large";
  const body = await request.arrayBuffer();
  return body.byteLength > MAX_BODY_BYTES ? "too_large" : body;
}

export async function forwardAuthRequest(request: Request, config: ResolvedConfig): Promise<Response> {
  const url = new URL(request.url);
  const path = relativeAuthPath(url.pathname, config.basePath);
  if (path === null || !isAllowedPath(path)) {
    return problemResponse(404, "not_found", "no such auth endpoint");
  }
  const body = await readBody(request);
  if (body === "too_large") {
    return problemResponse(413, "payload_too_large", `request body over ${MAX_BODY_BYTES} bytes`);
  }
  try {
    const upstream = await fetchUpstream(config, `/v1/${path}${url.search}`, {
      method: request.method,
      headers: upstreamHeaders(request.headers, config),
      body,
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

/**
 * `app/api/auth/[...tessera]/route.ts`:
 * `export const { GET, POST, DELETE } = createAuthRouteHandler(config);`
 */
export function createAuthRouteHandler(config: TesseraConfig): AuthRouteHandlers {
  let resolved: ResolvedConfig | undefined;
  const handle: AuthRouteHandler = async (request) => {
    resolved ??= resolveConfig(config);
    return forwardAuthRequest(request, resolved);
  };
  return { GET: handle, POST: handle, DELETE: handle };
}
