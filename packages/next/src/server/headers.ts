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
 * The browser's IP, or `undefined` when no source the deployment vouched for
 * gives one. Read only from `trustedIpHeader`, and only with
 * `trustedProxyCount`: with `X-Forwarded-For: client, proxy1, proxy2` and N
 * proxies that each append, the entry N from the right is the one the
 * outermost proxy wrote (the address it saw); everything left of it is
 * whatever the client sent. Fewer entries than N means the request did not
 * pass every proxy, so none of them is trusted (never the leftmost, which the
 * client wrote). An entry that is not a bare IPv4 or IPv6 address gives none.
 */
export function clientIp(incoming: HeaderSource, config: Pick<ResolvedConfig, "trustedIpHeader" | "trustedProxyCount">): string | undefined {
  const { trustedIpHeader: header, trustedProxyCount: count } = config;
  if (!header || count === undefined || !Number.isInteger(count) || count < 1) return undefined;
  const raw = incoming.get(header);
  if (!raw) return undefined;
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length < count) return undefined;
  const candidate = entries[entries.length - count];
  if (!candidate) return undefined;
  const bare = candidate.startsWith("::ffff:") && isIP(candidate.slice(7)) === 4 ? candidate.slice(7) : candidate;
  return isIP(bare) === 0 ? undefined : bare;
}

/** What the kit reads from the browser's request headers: `Headers`, Next's `headers()`, or a view over either. */
export type HeaderSource = Pick<Headers, "get">;

/**
 * The headers of a request to tessera: lower-case names, one value each, in
 * an object without prototype. Not a WHATWG `Headers`: one is built on every
 * call (every `getSession()`), and `Headers` checks, lower-cases and sorts
 * names on each operation (docs/performance.md, "The kit"). Values are what
 * `Headers.set` would have kept ({@link headerValue}).
 */
export type OutgoingHeaders = Record<string, string>;

/** An empty {@link OutgoingHeaders}. */
export function outgoingHeaders(): OutgoingHeaders {
  return Object.create(null) as OutgoingHeaders;
}

const HTTP_WHITESPACE_AT_ENDS = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const ENDS_IN_WHITESPACE = /^[\t\n\r ]|[\t\n\r ]$/;
const FORBIDDEN_IN_VALUE = /[\0\n\r]/;

/**
 * `value` as `Headers.set` stores it (HTTP whitespace at either end
 * removed), or the same `TypeError` when it holds NUL, CR or LF: the checks
 * the kit's header values went through when they were `Headers`.
 */
export function headerValue(name: string, value: string): string {
  const trimmed = ENDS_IN_WHITESPACE.test(value) ? value.replace(HTTP_WHITESPACE_AT_ENDS, "") : value;
  if (FORBIDDEN_IN_VALUE.test(trimmed)) throw new TypeError(`invalid value for header ${name}`);
  return trimmed;
}

/**
 * Builds the headers of a request to tessera from the browser's request
 * headers: those of `names` (by default every one of
 * {@link FORWARDED_REQUEST_HEADERS}) that the request has, tessera's own
 * cookies only, the BFF key and the client IP.
 */
export function upstreamHeaders(
  incoming: HeaderSource,
  config: ResolvedConfig,
  names: readonly (typeof FORWARDED_REQUEST_HEADERS)[number][] = FORWARDED_REQUEST_HEADERS,
): OutgoingHeaders {
  const outgoing = outgoingHeaders();
  for (const name of names) {
    const value = name === "cookie" ? tesseraCookies(incoming.get(name)) : incoming.get(name);
    if (value !== null && value !== "") outgoing[name] = headerValue(name, value);
  }
  if (config.bffKey) outgoing[BFF_KEY_HEADER] = headerValue(BFF_KEY_HEADER, config.bffKey);
  const ip = clientIp(incoming, config);
  if (ip) outgoing[CLIENT_IP_HEADER] = ip;
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
