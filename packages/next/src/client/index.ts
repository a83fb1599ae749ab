"use client";
/**
 * `@tessera/next/client`: for client components. `client-only` keeps it out
 * of server code by mistake; it holds no secret, only the CSRF cookie reader.
 */
import "client-only";

export { SessionProvider, useSession } from "./session-provider.js";
export type { SessionContextValue, SessionProviderProps, SessionStatus } from "./session-provider.js";
export { authFetch, readCsrfToken } from "./auth-fetch.js";
export { createSessionFetcher } from "./fetcher.js";
export type { SessionFetcher, SessionFetcherOptions } from "./fetcher.js";
export { registerPasskey, signInWithPasskey, passkeyErrorMessage } from "./passkeys.js";
export type { PasskeyOptions } from "./passkeys.js";
