import { cookies, headers } from "next/headers";
import type { ResolvedConfig } from "../config.js";
import { CSRF_COOKIE, CSRF_HEADER } from "../constants.js";
import { isTesseraError } from "../errors.js";
import { applySetCookies } from "./cookies.js";
import { type HeaderSource, TESSERA_COOKIE_PREFIX, upstreamHeaders } from "./headers.js";
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

/**
 * A call to tessera on behalf of the browser whose request is being served
 * (server components and server actions): its tessera cookies, user agent
 * and IP, the CSRF header from its csrf cookie for unsafe methods, the BFF key.
 */
export async function callTessera(config: ResolvedConfig, call: TesseraCall): Promise<UpstreamResult> {
  const request = await headers();
  const store = await cookies();
  // Cookies from the store, not the request's Cookie header: after a server
  // action applied new cookies (login, password change), the re-render of the
  // same request must already use them.
  const jar = store
    .getAll()
    .filter((cookie) => cookie.name.startsWith(TESSERA_COOKIE_PREFIX) && cookie.value !== "")
    .map((cookie) => `${cookie.name}=${cookie.value}`)
    .join("; ");
  // A view, not a copy of every request header: this runs on every render.
  const incoming: HeaderSource = { get: (name) => (name.toLowerCase() === "cookie" ? jar || null : request.get(name)) };
  const outgoing = upstreamHeaders(incoming, config);
  for (const name of ["authorization", "content-type", CSRF_HEADER]) outgoing.delete(name);
  outgoing.set("accept", "application/json");
  if (!call.forwardIntent) {
    outgoing.delete("origin");
    outgoing.delete("sec-fetch-site");
  }
  let body: string | undefined;
  if (call.json !== undefined) {
    outgoing.set("content-type", "application/json");
    body = JSON.stringify(call.json);
  } else if (call.form !== undefined) {
    outgoing.set("content-type", "application/x-www-form-urlencoded");
    body = new URLSearchParams(call.form).toString();
  }
  if (call.method !== "GET") {
    const csrf = store.get(CSRF_COOKIE)?.value;
    if (csrf) outgoing.set(CSRF_HEADER, csrf);
    if (!outgoing.has("origin") && config.publicOrigin) outgoing.set("origin", config.publicOrigin);
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
