import { CSRF_COOKIE, CSRF_HEADER } from "../constants.js";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The CSRF token from the `__Host-tessera_csrf` cookie, or null. */
export function readCsrfToken(cookieString: string = typeof document === "undefined" ? "" : document.cookie): string | null {
  for (const part of cookieString.split(";")) {
    const separator = part.indexOf("=");
    if (separator === -1) continue;
    if (part.slice(0, separator).trim() === CSRF_COOKIE) {
      const value = part.slice(separator + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return null;
}

function requestUrl(input: RequestInfo | URL): URL | null {
  const raw = input instanceof Request ? input.url : String(input);
  try {
    return new URL(raw, typeof location === "undefined" ? undefined : location.href);
  } catch {
    return null;
  }
}

/**
 * `fetch` for the app's own API: sends cookies same-origin and, on unsafe
 * methods to the app's own origin only, the `X-CSRF-Token` header that
 * tessera requires. The token never goes to another origin.
 */
export function authFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  const headers = new Headers(input instanceof Request ? input.headers : undefined);
  new Headers(init.headers).forEach((value, name) => headers.set(name, value));
  const url = requestUrl(input);
  const sameOrigin = url !== null && typeof location !== "undefined" && url.origin === location.origin;
  if (!SAFE_METHODS.has(method) && sameOrigin && !headers.has(CSRF_HEADER)) {
    const token = readCsrfToken();
    if (token) headers.set(CSRF_HEADER, token);
  }
  return fetch(input, { ...init, method, headers, credentials: init.credentials ?? "same-origin" });
}
