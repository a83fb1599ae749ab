const BASE = "http://tessera.invalid";
const MAX_LENGTH = 2048;

// C0 controls, DEL and C1 controls. Browsers silently drop tab, CR and LF
// from URLs, so "/\t/evil.example" would become "//evil.example".
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A path that a browser (or any layer that decodes once more) would read as
// "//host" or "/\host": two leading slashes, a backslash anywhere, or an
// encoded slash or backslash.
const NETWORK_PATH = /^\/[/\\]/;
const ENCODED_SEPARATOR = /%(?:2f|5c)/i;

function isSafePathname(pathname: string): boolean {
  return pathname.startsWith("/") && !NETWORK_PATH.test(pathname) && !pathname.includes("\\") && !ENCODED_SEPARATOR.test(pathname);
}

/**
 * Returns `value` when it is a same-origin relative path (`/a/b?c#d`), else
 * `fallback`. Used for `?next=` and `return_to` so neither can become an
 * open redirect: no scheme, no `//host`, no `/\host`, no control characters.
 *
 * Both the input and the result of URL normalisation are checked: dot
 * segments can turn a harmless-looking input into a network path
 * (`/.//evil.example`, `/%2e//evil.example` and `/a/..//evil.example` all
 * normalise to `//evil.example`).
 */
export function sanitizeRedirect(value: unknown, fallback = "/"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_LENGTH) return fallback;
  if (CONTROL.test(value) || value.includes("\\") || !value.startsWith("/") || NETWORK_PATH.test(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== BASE || !isSafePathname(url.pathname)) return fallback;
  const result = `${url.pathname}${url.search}${url.hash}`;
  return result.length > MAX_LENGTH || CONTROL.test(result) ? fallback : result;
}

/** Builds `signInPath?next=<path>` with `next` sanitised (dropped when unsafe or "/"). */
export function signInUrl(signInPath: string, next: unknown): string {
  const safe = sanitizeRedirect(next, "");
  if (safe === "" || safe === "/") return signInPath;
  const separator = signInPath.includes("?") ? "&" : "?";
  return `${signInPath}${separator}next=${encodeURIComponent(safe)}`;
}
