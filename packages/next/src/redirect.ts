const BASE = "http://tessera.invalid";

/**
 * Returns `value` when it is a same-origin relative path (`/a/b?c#d`), else
 * `fallback`. Used for `?next=` and `return_to` so neither can become an
 * open redirect: no scheme, no `//host`, no `/\host`, no control characters.
 */
export function sanitizeRedirect(value: unknown, fallback = "/"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return fallback;
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return fallback;
  // Browsers treat "\" as "/" and drop tabs/newlines in URLs; refuse both outright.
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== BASE) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** Builds `signInPath?next=<path>` with `next` sanitised (dropped when unsafe or "/"). */
export function signInUrl(signInPath: string, next: unknown): string {
  const safe = sanitizeRedirect(next, "");
  if (safe === "" || safe === "/") return signInPath;
  const separator = signInPath.includes("?") ? "&" : "?";
  return `${signInPath}${separator}next=${encodeURIComponent(safe)}`;
}
