import { cookies, headers } from "next/headers";
import type { ResolvedConfig } from "../config.js";
import { CSRF_COOKIE, CSRF_HEADER } from "../constants.js";
import { isTesseraError } from "../errors.js";
import { applySetCookies } from "./cookies.js";
import { type HeaderSource, headerValue, TESSERA_COOKIE_PREFIX, upstreamHeaders } from "./headers.js";
import { fetchUpstream, type UpstreamResult } from "./upstream.js";

export interface TesseraCall {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  json?: unknown;
  form?: Record<string, string>;
  /**
   * Forward the browser's `Origin` and `Sec-Fetch-Site`: true for server
   * actions (a real browser POST whose intent tessera must judge); false for
   * calls the server makes while rendering a GET.
   */
  forwardIntent: boolean;
}

/** What the kit reads from Next's `cookies()` store. */
export type CookieSource = Pick<Awaited<ReturnType<typeof cookies>>, "get" | "getAll">;

/** The browser's headers tessera gets on a call: those that say what the browser asks for are left out. */
const CALL_HEADERS = ["cookie", "user-agent"] as const;
/** {@link CALL_HEADERS} with the browser's `Origin` and `Sec-Fetch-Site` (`forwardIntent`). */
const CALL_HEADERS_WITH_INTENT = ["cookie", "origin", "sec-fetch-site", "user-agent"] as const;

/**
 * A call to tessera on behalf of the browser whose request is being served
 * (server components and server actions): its tessera cookies, user agent
 * and IP, the CSRF header from its csrf cookie for unsafe methods, the BFF key.
 */
export async function callTessera(config: ResolvedConfig, call: TesseraCall): Promise<UpstreamResult> {
  const request = await headers();
  const store = await cookies();
  return callTesseraWith(config, call, request, store);
}

/**
 * {@link callTessera} with the request's `headers()` and `cookies()`
 * already in hand: `getSession()` has awaited them itself, and each
 * promise less is CPU saved on every render (docs/performance.md).
 */
export function callTesseraWith(config: ResolvedConfig, call: TesseraCall, request: HeaderSource, store: CookieSource): Promise<UpstreamResult> {
  // Cookies from the store, not the request's Cookie header: after a server
  // action applied new cookies (login, password change), the re-render of the
  // same request must already use them.
  let jar = "";
  for (const cookie of store.getAll()) {
    if (!cookie.name.startsWith(TESSERA_COOKIE_PREFIX) || cookie.value === "") continue;
    jar += `${jar ? "; " : ""}${cookie.name}=${cookie.value}`;
  }
  // A view, not a copy of every request header: this runs on every render.
  const incoming: HeaderSource = { get: (name) => (name.toLowerCase() === "cookie" ? jar || null : request.get(name)) };
  // Authorization, Content-Type, the CSRF header and Accept are the kit's
  // own on a call, never the browser's; Origin and Sec-Fetch-Site only
  // for a call that carries the browser's intent.
  const outgoing = upstreamHeaders(incoming, config, call.forwardIntent ? CALL_HEADERS_WITH_INTENT : CALL_HEADERS);
  outgoing.accept = "application/json";
  let body: string | undefined;
  if (call.json !== undefined) {
    outgoing["content-type"] = "application/json";
    body = JSON.stringify(call.json);
  } else if (call.form !== undefined) {
    outgoing["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(call.form).toString();
  }
  if (call.method !== "GET") {
    const csrf = store.get(CSRF_COOKIE)?.value;
    if (csrf) outgoing[CSRF_HEADER] = headerValue(CSRF_HEADER, csrf);
    if (outgoing.origin === undefined && config.publicOrigin) outgoing.origin = headerValue("origin", config.publicOrigin);
  }
  return fetchUpstream(config, call.path, { method: call.method, headers: outgoing, body });
}

/**
 * {@link callTessera} for a server action: tessera's `Set-Cookie` is applied
 * through `cookies()` whatever the status (a refused call may still clear a
 * cookie); null when tessera is unreachable or timed out, so the form can say
 * so instead of failing the whole page.
 */
export async function callApplyingCookies(config: ResolvedConfig, call: TesseraCall): Promise<UpstreamResult | null> {
  try {
    const result = await callTessera(config, call);
    applySetCookies(result.headers.getSetCookie(), await cookies());
    return result;
  } catch (error) {
    if (isTesseraError(error)) return null;
    throw error;
  }
}
