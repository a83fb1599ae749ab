import type http from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import { type Answer, type Cancel, headersObject, IDLE_SOCKET_MS, MAX_SOCKETS, requestBytes, send } from "./http1.js";

/**
 * The transport for calls to tessera: kept-alive connections, shaped like
 * `fetch` (the subset `fetchUpstream` uses). `http:` servers through the
 * kit's own HTTP/1.1 client (`http1.ts`), `https:` through `node:https`.
 *
 * Why not the global `fetch`: in Node it is undici, which costs several
 * times the CPU per call to tessera's whoami of `node:http` with a
 * keep-alive agent, and `node:http` several times that of `http1.ts`
 * (figures in docs/performance.md). `getSession()` runs on every page
 * render, so that difference is most of what authentication adds to a page.
 * `TesseraConfig.fetch` still replaces it (tests do).
 */
export { IDLE_SOCKET_MS };

const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, timeout: IDLE_SOCKET_MS });

/**
 * Requests sent again when a kept-alive connection turns out to be dead
 * (reset or closed before any answer): the safe methods only. A POST may
 * have been acted on before the connection died, so it fails instead.
 */
const RETRYABLE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const DEAD_CONNECTION = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_DESTROYED", "ERR_STREAM_WRITE_AFTER_END"]);
/** A stale connection is dropped from the pool when it fails, so this bounds the retries, not the pool. */
const MAX_ATTEMPTS = 3;

/** Statuses whose responses have no body (the Response constructor insists). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** What {@link keepAliveRequest} answers: the response as it came, unwrapped. */
export interface RawResponse {
  status: number;
  statusText: string;
  /**
   * As `node:http` reads them: lower-case names, Set-Cookie as an array of
   * whole cookies, other repeated headers joined or dropped by its rules.
   * A getter: the object is built on first read, and `getSession()` never
   * reads it. {@link headersOf} makes a `Headers` of it.
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
  /** The Host header: the URL's host, with its port unless the scheme's default. */
  host: string;
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
    host: url.host,
  };
}

/** At most this many paths are remembered for each server URL; past it, the memory starts again. */
const TARGETS_PER_SERVER = 256;
const targets = new WeakMap<URL, Map<string, RequestTarget>>();

/**
 * `new URL(path, serverUrl)` as a {@link RequestTarget}, remembered per
 * server URL and path: `getSession()` asks for the same one on every call.
 * A path with a query is not remembered: the route handler passes the
 * browser's on (an OAuth callback's carries its code), and it would only
 * be asked for once.
 */
export function requestTarget(serverUrl: URL, path: string): RequestTarget {
  if (path.includes("?")) return targetOf(new URL(path, serverUrl));
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
    let cancel: ((error: Error) => void) | undefined;
    let settled = false;
    const { signal } = init;
    const onAbort = () => {
      const error = abortError(signal?.reason);
      fail(error);
      cancel?.(error);
    };
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      reject(failure(error));
    };
    const succeed = (raw: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      let result: T;
      try {
        result = answer(raw);
      } catch (error) {
        reject(error);
        return;
      }
      resolve(result);
    };
    const retryable = RETRYABLE_METHODS.has(init.method.toUpperCase());
    try {
      signal?.throwIfAborted();
      if (init.timeoutMs !== undefined) {
        const ms = init.timeoutMs;
        timer = setTimeout(() => {
          const error = new KeepAliveTimeoutError(ms);
          fail(error);
          cancel?.(error);
        }, ms);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      if (target.protocol === "http:") {
        const { bytes, close } = requestBytes(init.method, target.path, target.host, target.auth, init.headers, init.body);
        const outgoing = { hostname: target.hostname, port: target.port ?? 80, method: init.method, bytes, close };
        const attempt = (n: number): Cancel =>
          send(outgoing, {
            answered: (raw: Answer) => succeed(rawResponse(raw)),
            failed: (error, reusedAndSilent) => {
              const code = (error as NodeJS.ErrnoException).code ?? "";
              if (reusedAndSilent && !settled && n < MAX_ATTEMPTS && retryable && DEAD_CONNECTION.has(code)) {
                cancel = attempt(n + 1);
                return;
              }
              fail(error);
            },
          });
        cancel = attempt(1);
      } else {
        cancel = viaNodeHttps(target, init, succeed, fail, retryable);
      }
    } catch (error) {
      fail(error);
    }
  });
}

/** What `node:http` rejects with when a request's signal aborts. */
function abortError(reason: unknown): Error {
  return Object.assign(new Error("The operation was aborted", { cause: reason }), { name: "AbortError", code: "ABORT_ERR" });
}

/** An answer of `http1.ts` as a {@link RawResponse}: the body copied once into an ArrayBuffer of its own. */
function rawResponse(raw: Answer): RawResponse {
  const body = new ArrayBuffer(raw.length);
  const bytes = new Uint8Array(body);
  let offset = 0;
  for (const chunk of raw.body) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let headers: IncomingHttpHeaders | undefined;
  return {
    status: raw.status,
    statusText: raw.statusText,
    get headers() {
      return (headers ??= headersObject(raw.rawHeaders));
    },
    body,
  };
}

/** The `https:` path of {@link exchange}: `node:https` with a kept-alive agent. */
function viaNodeHttps(
  target: RequestTarget,
  init: ExchangeInit,
  succeed: (raw: RawResponse) => void,
  fail: (error: unknown) => void,
  retryable: boolean,
): Cancel {
  let current: http.ClientRequest | undefined;
  let done = false;
  const options: https.RequestOptions = {
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port,
    path: target.path,
    auth: target.auth,
    method: init.method,
    headers: init.body ? { ...init.headers, "content-length": String(init.body.byteLength) } : init.headers,
    agent: httpsAgent,
  };
  const attempt = (n: number) => {
    let answered = false;
    const request = https.request(options, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let length = 0;
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.byteLength;
      });
      res.on("error", (error) => {
        done = true;
        fail(error);
      });
      res.on("end", () => {
        if (done) return;
        done = true;
        const body = new ArrayBuffer(length);
        const bytes = new Uint8Array(body);
        let offset = 0;
        for (const chunk of chunks) {
          bytes.set(chunk, offset);
          offset += chunk.byteLength;
        }
        succeed({
          status: res.statusCode ?? 502,
          statusText: res.statusMessage ?? "",
          get headers() {
            return res.headers;
          },
          body,
        });
      });
    });
    current = request;
    request.on("error", (error: NodeJS.ErrnoException) => {
      const stale = request.reusedSocket && !answered && DEAD_CONNECTION.has(error.code ?? "");
      if (stale && !done && n < MAX_ATTEMPTS && retryable) {
        attempt(n + 1);
        return;
      }
      done = true;
      fail(error);
    });
    if (init.body) request.write(init.body);
    request.end();
  };
  attempt(1);
  return () => {
    done = true;
    current?.destroy();
  };
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
