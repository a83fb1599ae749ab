import { TesseraError, isProblem } from "../errors.js";
import { type AuthPathsInput, defineAuthPaths } from "../paths.js";
import { signInUrl } from "../redirect.js";
import { authFetch } from "./auth-fetch.js";

export interface SessionFetcherOptions {
  /** The app's paths from `defineAuthPaths` (default `/api/auth` and `/login`). */
  paths?: AuthPathsInput;
  /** How to leave the page when the session is gone (default `location.assign`). */
  navigate?: (url: string) => void;
}

export type SessionFetcher = <T = unknown>(url: string) => Promise<T>;

/**
 * A fetcher for SWR (or any `fetcher(url)` library). On a 401 it asks the
 * BFF once whether the session still exists: if it does, it retries once;
 * if not, it sends the browser to sign-in with `?next=` this page.
 */
export function createSessionFetcher(options: SessionFetcherOptions = {}): SessionFetcher {
  const { basePath, signInPath } = defineAuthPaths(options.paths);
  const navigate = options.navigate ?? ((url: string) => window.location.assign(url));

  async function get(url: string): Promise<Response> {
    return authFetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
  }

  return async function fetcher<T>(url: string): Promise<T> {
    let response = await get(url);
    if (response.status === 401) {
      const check = await fetch(`${basePath}/session`, { credentials: "same-origin", cache: "no-store" });
      if (check.ok) response = await get(url);
      if (!check.ok || response.status === 401) {
        const here = typeof location === "undefined" ? "/" : `${location.pathname}${location.search}`;
        navigate(signInUrl(signInPath, here));
        throw new TesseraError("unauthenticated", "the session has ended", { status: 401 });
      }
    }
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      throw new TesseraError("request_failed", `${url} answered ${response.status}`, {
        status: response.status,
        ...(isProblem(body) ? { problem: body } : {}),
      });
    }
    return body as T;
  };
}
