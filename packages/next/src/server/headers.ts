import { isIP } from "node:net";
import type { ResolvedConfig } from "../config.js";
import { BFF_KEY_HEADER, CLIENT_IP_HEADER } from "../constants.js";
import { warnMissingClientIp } from "./client-ip-warning.js";

/** Request headers the BFF passes on to tessera; everything else is dropped. */
export const FORWARDED_REQUEST_HEADERS = [
  "cookie",
  "x-csrf-token",
  "origin",
  "sec-fetch-site",
  "user-agent",
  "content-type",
  "accept",
  "authorization",
] as const;

/** Response headers passed back to the browser (Set-Cookie is handled apart). */
export const FORWARDED_RESPONSE_HEADERS = [
  "content-type",
  "cache-control",
  "pragma",
  "expires",
  "retry-after",
  "location",
  "www-authenticate",
  "content-security-policy",
  "x-content-type-options",
  "referrer-policy",
  "vary",
] as const;

export const TESSERA_COOKIE_PREFIX = "__Host-tessera_";

/** Keeps only tessera's own cookies: the app's other cookies are none of the server's business. */
export function tesseraCookies(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  const kept = cookieHeader
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part.startsWith(TESSERA_COOKIE_PREFIX));
  return kept.length > 0 ? kept.join("; ") : null;
}

/**
 * The browser's IP, read from the configured trusted header only. With
 * `X-Forwarded-For: client, proxy1, proxy2` and N trusted proxies, the entry
 * N from the right is the first one a trusted proxy wrote.
 */
export function clientIp(incoming: HeaderSource, config: Pick<ResolvedConfig, "trustedIpHeader" | "trustedProxyCount">): string | undefined {
  if (!config.trustedIpHeader) return undefined;
  const raw = incoming.get(config.trustedIpHeader);
  if (!raw) return undefined;
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const candidate = entries[entries.length - config.trustedProxyCount] ?? entries[0];
  if (!candidate) return undefined;
  const bare = candidate.startsWith("::ffff:") && isIP(candidate.slice(7)) === 4 ? candidate.slice(7) : candidate;
  return isIP(bare) === 0 ? undefined : bare;
}

/** What the kit reads from the browser's request headers: `Headers`, Next's `headers()`, or a view over either. */
export type HeaderSource = Pick<Headers, "get">;

/** Builds the headers of a request to tessera from the browser's request headers. */
export function upstreamHeaders(incoming: HeaderSource, config: ResolvedConfig): Headers {
  const outgoing = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = name === "cookie" ? tesseraCookies(incoming.get(name)) : incoming.get(name);
    if (value !== null && value !== "") outgoing.set(name, value);
  }
  if (config.bffKey) outgoing.set(BFF_KEY_HEADER, config.bffKey);
  const ip = clientIp(incoming, config);
  if (ip) outgoing.set(CLIENT_IP_HEADER, ip);
  else warnMissingClientIp(config);
  return outgoing;
}

/** Copies allow-listed response headers and every Set-Cookie, one header each. */
export function downstreamHeaders(upstream: Headers): Headers {
  const outgoing = new Headers();
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.get(name);
    if (value !== null) outgoing.set(name, value);
  }
  // `get("set-cookie")` would join them with ", ", which breaks Expires=...;
  // getSetCookie() keeps each one whole, and append() keeps them apart.
  for (const cookie of upstream.getSetCookie()) outgoing.append("set-cookie", cookie);
  return outgoing;
}
