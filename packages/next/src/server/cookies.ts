import { parse } from "set-cookie-parser";
import { CSRF_COOKIE, SESSION_COOKIE } from "../constants.js";

/** The part of Next's `cookies()` store the kit writes to. */
export interface CookieWriter {
  set(options: {
    name: string;
    value: string;
    path?: string;
    domain?: string;
    maxAge?: number;
    expires?: Date;
    httpOnly?: boolean;
    secure?: boolean;
    sameSite?: "strict" | "lax" | "none";
    partitioned?: boolean;
  }): unknown;
}

function sameSite(value: string | undefined): "strict" | "lax" | "none" | undefined {
  const lower = value?.toLowerCase();
  return lower === "strict" || lower === "lax" || lower === "none" ? lower : undefined;
}

/**
 * Applies tessera's `Set-Cookie` headers through Next's cookie store, attribute
 * for attribute, so `__Host-` cookies keep Secure, Path=/, no Domain,
 * HttpOnly and SameSite exactly as the server decided.
 */
export function applySetCookies(setCookieHeaders: readonly string[], store: CookieWriter): string[] {
  const applied: string[] = [];
  for (const cookie of parse([...setCookieHeaders])) {
    const options: Parameters<CookieWriter["set"]>[0] = { name: cookie.name, value: cookie.value };
    if (cookie.path !== undefined) options.path = cookie.path;
    if (cookie.domain !== undefined) options.domain = cookie.domain;
    if (cookie.maxAge !== undefined) options.maxAge = cookie.maxAge;
    if (cookie.expires !== undefined) options.expires = cookie.expires;
    if (cookie.httpOnly !== undefined) options.httpOnly = cookie.httpOnly;
    if (cookie.secure !== undefined) options.secure = cookie.secure;
    const site = sameSite(cookie.sameSite);
    if (site !== undefined) options.sameSite = site;
    if (cookie.partitioned !== undefined) options.partitioned = cookie.partitioned;
    store.set(options);
    applied.push(cookie.name);
  }
  return applied;
}

/**
 * Expires tessera's two cookies in the browser, whatever tessera answered
 * (even when it was down): after sign-out or account deletion this browser
 * must hold no session, and a stale cookie would only cost a 401 later.
 */
export function clearSessionCookies(store: CookieWriter & { get(name: string): { value: string } | undefined }): void {
  for (const name of [SESSION_COOKIE, CSRF_COOKIE]) {
    if (store.get(name)?.value) {
      store.set({ name, value: "", path: "/", maxAge: 0, secure: true, httpOnly: name === SESSION_COOKIE, sameSite: "strict" });
    }
  }
}
