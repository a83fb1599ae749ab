import type { ResolvedConfig } from "../config.js";
import { TesseraError } from "../errors.js";
import type { OutgoingHeaders } from "./headers.js";
import { KeepAliveTimeoutError, type RawResponse, exchange, headersOf, requestTarget, type RequestTarget, toBuffer } from "./node-fetch.js";

/**
 * One request to tessera with the configured timeout. The body is read
 * inside the same deadline, so a server that sends headers and then stalls
 * also times out. Network failures and timeouts become typed errors; no
 * redirect is ever followed (OAuth start answers 302 for the browser).
 */
export interface UpstreamResult {
  status: number;
  headers: Headers;
  body: ArrayBuffer | null;
}

export interface UpstreamInit {
  method: string;
  headers: OutgoingHeaders;
  body?: ArrayBuffer | string | undefined;
}

/**
 * An answer over the default transport. `headers` is made on first read:
 * `getSession()` and the other readers only look at the status and the
 * body, and a `Headers` of every response header cost them CPU on every
 * call (docs/performance.md, "The kit").
 */
class KeptAliveResult implements UpstreamResult {
  readonly status: number;
  readonly body: ArrayBuffer | null;
  #raw: RawResponse;
  #headers: Headers | undefined;

  constructor(raw: RawResponse, method: string) {
    this.#raw = raw;
    this.status = raw.status;
    const empty = raw.status === 204 || raw.status === 304 || method === "HEAD";
    this.body = empty ? null : raw.body;
  }

  get headers(): Headers {
    return (this.#headers ??= headersOf(this.#raw.headers));
  }
}

export function fetchUpstream(config: ResolvedConfig, path: string, init: UpstreamInit): Promise<UpstreamResult> {
  const { transport } = config;
  if (transport.kind !== "keep-alive") return fetchThrough(config, transport.fetch, path, init);
  // The kit's own transport: one promise, no WHATWG Response in between.
  let target: RequestTarget;
  try {
    target = requestTarget(config.serverUrl, path);
  } catch (error) {
    // A path that is no URL: a TypeError, as `new URL` threw it here before.
    return Promise.reject(error);
  }
  const { method } = init;
  let body: Buffer | null;
  try {
    body = toBuffer(init.body);
  } catch (cause) {
    return Promise.reject(upstreamError(config, cause, false));
  }
  return exchange(
    target,
    { method, headers: init.headers, body, timeoutMs: config.timeoutMs },
    (raw) => new KeptAliveResult(raw, method),
    (cause) => upstreamError(config, cause, cause instanceof KeepAliveTimeoutError),
  );
}

async function fetchThrough(config: ResolvedConfig, fetch: typeof globalThis.fetch, path: string, init: UpstreamInit): Promise<UpstreamResult> {
  const url = new URL(path, config.serverUrl);
  const signal = AbortSignal.timeout(config.timeoutMs);
  try {
    const response = await fetch(url, {
      method: init.method,
      // A `Headers`, as this transport has always been given.
      headers: new Headers(init.headers),
      body: init.body ?? null,
      redirect: "manual",
      cache: "no-store",
      signal,
    });
    const empty = response.status === 204 || response.status === 304 || init.method === "HEAD";
    const body = empty ? null : await response.arrayBuffer();
    if (empty) await response.body?.cancel();
    return { status: response.status, headers: response.headers, body };
  } catch (cause) {
    throw upstreamError(config, cause, signal.aborted);
  }
}

function upstreamError(config: ResolvedConfig, cause: unknown, timedOut: boolean): TesseraError {
  if (timedOut) {
    return new TesseraError("upstream_timeout", `tessera did not answer within ${config.timeoutMs} ms`, { cause });
  }
  return new TesseraError("upstream_unavailable", "tessera is unreachable", { cause });
}

const utf8 = new TextDecoder();

export function parseJson(body: ArrayBuffer | null): unknown {
  if (!body || body.byteLength === 0) return null;
  try {
    return JSON.parse(utf8.decode(body)) as unknown;
  } catch {
    return null;
  }
}
