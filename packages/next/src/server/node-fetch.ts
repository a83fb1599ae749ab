import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";

/**
 * The transport for calls to tessera: `node:http` over kept-alive
 * connections, shaped like `fetch` (the subset `fetchUpstream` uses).
 *
 * Why not the global `fetch`: in Node it is undici, which costs several
 * times the CPU per call to tessera's whoami of `node:http` with a
 * keep-alive agent (figures in docs/performance.md). `getSession()` runs on
 * every page render, so that difference is most of what authentication adds
 * to a page.
 * `TesseraConfig.fetch` still replaces it (tests do).
 */
/**
 * A kept-alive connection unused this long is closed by us. tessera (hyper)
 * closes one idle for its header-read timeout, 10 s by default; a request
 * written onto a connection as the server closes it fails with ECONNRESET.
 * Letting go first keeps that race away (a script that sent requests every
 * 95–105 ms to a server closing after 100 ms idle lost 5 in 300 this way).
 */
export const IDLE_SOCKET_MS = 4_000;

const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 256, timeout: IDLE_SOCKET_MS }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 256, timeout: IDLE_SOCKET_MS }),
};

/**
 * Requests sent again when a kept-alive connection turns out to be dead
 * (reset or closed before any answer): the safe methods only. A POST may
 * have been acted on before the connection died, so it fails instead.
 */
const RETRYABLE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const DEAD_CONNECTION = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
/** A stale connection is dropped from the pool when it fails, so this bounds the retries, not the pool. */
const MAX_ATTEMPTS = 3;

/** Statuses whose responses have no body (the Response constructor insists). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** What {@link keepAliveRequest} answers: the response as it came, unwrapped. */
export interface RawResponse {
  status: number;
  statusText: string;
  /**
   * As `node:http` parsed them: lower-case names, Set-Cookie as an array of
   * whole cookies, other repeated headers joined or dropped by its rules.
   * A getter: `node:http` builds this object on first read, and
   * `getSession()` never reads it. {@link headersOf} makes a `Headers` of it.
   */
  readonly headers: IncomingHttpHeaders;
  /** The body's bytes in an ArrayBuffer of their own. */
  body: ArrayBuffer;
}

/** `raw` as a WHATWG `Headers`, every value of a repeated header appended apart. */
export function headersOf(raw: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const name of Object.keys(raw)) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value === "string") out.append(name, value);
    else for (const v of value) out.append(name, v);
  }
  return out;
}

/**
 * What {@link keepAliveRequest} rejects with when its `timeoutMs` passes
 * before the whole response arrived.
 */
export class KeepAliveTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = "KeepAliveTimeoutError";
  }
}

/**
 * Where a request goes, in the shape `http.request` takes: what it would
 * make of a URL (`url.urlToHttpOptions`), computed once for each path
 * instead of on every call ({@link requestTarget}).
 */
export interface RequestTarget {
  protocol: string;
  hostname: string;
  port?: number | undefined;
  path: string;
  auth?: string | undefined;
}

/** A URL as {@link RequestTarget}. */
export function targetOf(url: URL): RequestTarget {
  const options = urlToHttpOptions(url);
  return {
    protocol: url.protocol,
    hostname: options.hostname ?? url.hostname,
    port: options.port === undefined || options.port === "" ? undefined : Number(options.port),
    path: options.path ?? "/",
    auth: options.auth ?? undefined,
  };
}

/** At most this many paths are remembered for each server URL; past it, the memory starts again. */
const TARGETS_PER_SERVER = 256;
const targets = new WeakMap<URL, Map<string, RequestTarget>>();

/**
 * `new URL(path, serverUrl)` as a {@link RequestTarget}, remembered per
 * server URL and path: `getSession()` asks for the same one on every call.
 */
export function requestTarget(serverUrl: URL, path: string): RequestTarget {
  let known = targets.get(serverUrl);
  if (!known) targets.set(serverUrl, (known = new Map()));
  let target = known.get(path);
  if (!target) {
    target = targetOf(new URL(path, serverUrl));
    if (known.size >= TARGETS_PER_SERVER) known.clear();
    known.set(path, target);
  }
  return target;
}

/** What {@link exchange} sends. */
export interface ExchangeInit {
  method: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer | null;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/**
 * One request over the kept-alive connections, answered without wrapping the
 * body in a WHATWG `Response`: `answer` makes the result of the response and
 * `failure` the error of a failure, inside the one promise this returns (no
 * promise chained after it: in Next every promise also runs the async
 * context hooks). `fetchUpstream` uses this when the transport is the
 * default: building a `Response` and reading it back with `arrayBuffer()`
 * cost about a third of the call's CPU in Node (docs/performance.md).
 */
export function exchange<T>(
  target: RequestTarget,
  init: ExchangeInit,
  answer: (raw: RawResponse) => T,
  failure: (error: unknown) => unknown,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // One timer for the whole call: it covers the body too, and every
    // attempt, so headers followed by a stalled body still time out.
    let timer: NodeJS.Timeout | undefined;
    let current: http.ClientRequest | undefined;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(failure(error));
    };
    const https_ = target.protocol === "https:";
    const client = https_ ? https : http;
    const options: http.RequestOptions = {
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      auth: target.auth,
      method: init.method,
      headers: init.body ? { ...init.headers, "content-length": String(init.body.byteLength) } : init.headers,
      agent: https_ ? agents["https:"] : agents["http:"],
      signal: init.signal,
    };
    const attempt = (n: number) => {
      let answered = false;
      const request = client.request(options, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let length = 0;
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          length += chunk.byteLength;
        });
        res.on("error", fail);
        res.on("end", () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // One copy, into an ArrayBuffer of the body's own (small Buffers share a pool).
          const body = new ArrayBuffer(length);
          const bytes = new Uint8Array(body);
          let offset = 0;
          for (const chunk of chunks) {
            bytes.set(chunk, offset);
            offset += chunk.byteLength;
          }
          let result: T;
          try {
            result = answer({
              status: res.statusCode ?? 502,
              statusText: res.statusMessage ?? "",
              get headers() {
                return res.headers;
              },
              body,
            });
          } catch (error) {
            reject(error);
            return;
          }
          resolve(result);
        });
      });
      current = request;
      request.on("error", (error: NodeJS.ErrnoException) => {
        const stale = request.reusedSocket && !answered && DEAD_CONNECTION.has(error.code ?? "");
        if (stale && !settled && n < MAX_ATTEMPTS && RETRYABLE_METHODS.has(init.method.toUpperCase())) {
          attempt(n + 1);
          return;
        }
        fail(error);
      });
      if (init.body) request.write(init.body);
      request.end();
    };
    try {
      init.signal?.throwIfAborted();
      if (init.timeoutMs !== undefined) {
        const ms = init.timeoutMs;
        timer = setTimeout(() => {
          fail(new KeepAliveTimeoutError(ms));
          current?.destroy();
        }, ms);
      }
      attempt(1);
    } catch (error) {
      fail(error);
    }
  });
}

const same = <T>(value: T): T => value;

/** {@link exchange} to a URL, answering the response as it came. */
export function keepAliveRequest(
  url: URL,
  init: { method: string; headers: Headers | Readonly<Record<string, string>>; body: Buffer | null; signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
): Promise<RawResponse> {
  const headers = init.headers instanceof Headers ? Object.fromEntries(init.headers) : init.headers;
  return exchange(targetOf(url), { ...init, headers }, same, same);
}

export async function keepAliveFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const url = input instanceof URL ? input : new URL(typeof input === "string" ? input : input.url);
  const raw = await keepAliveRequest(url, {
    method: init.method ?? "GET",
    headers: new Headers(init.headers),
    body: toBuffer(init.body),
    signal: init.signal ?? undefined,
  });
  const payload = NULL_BODY.has(raw.status) ? null : raw.body;
  return new Response(payload, { status: raw.status, statusText: raw.statusText, headers: headersOf(raw.headers) });
}

export function toBuffer(body: RequestInit["body"]): Buffer | null {
  if (body === null || body === undefined) return null;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("keepAliveFetch sends string or binary bodies only");
}
