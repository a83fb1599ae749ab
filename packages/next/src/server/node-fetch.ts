import http from "node:http";
import https from "node:https";

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
  headers: Headers;
  body: Buffer<ArrayBuffer>;
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
 * One request over the kept-alive connections, answered without wrapping the
 * body in a WHATWG `Response`. `fetchUpstream` uses this when the transport
 * is the default: building a `Response` and reading it back with
 * `arrayBuffer()` cost about a third of the call's CPU in Node
 * (docs/performance.md).
 */
export function keepAliveRequest(
  url: URL,
  init: { method: string; headers: Headers; body: Buffer | null; signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
): Promise<RawResponse> {
  const client = url.protocol === "https:" ? https : http;
  const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
  const headers: Record<string, string> = {};
  init.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (init.body) headers["content-length"] = String(init.body.byteLength);
  init.signal?.throwIfAborted();
  return new Promise<RawResponse>((resolve, reject) => {
    // One timer for the whole call: it covers the body too, and every
    // attempt, so headers followed by a stalled body still time out.
    let timer: NodeJS.Timeout | undefined;
    let current: http.ClientRequest | undefined;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const attempt = (n: number) => {
      let answered = false;
      const request = client.request(url, { method: init.method, headers, agent, signal: init.signal }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", fail);
        res.on("end", () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
          }
          resolve({ status: res.statusCode ?? 502, statusText: res.statusMessage ?? "", headers: out, body: Buffer.concat(chunks) });
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
    if (init.timeoutMs !== undefined) {
      const ms = init.timeoutMs;
      timer = setTimeout(() => {
        fail(new KeepAliveTimeoutError(ms));
        current?.destroy();
      }, ms);
    }
    attempt(1);
  });
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
  return new Response(payload, { status: raw.status, statusText: raw.statusText, headers: raw.headers });
}

export function toBuffer(body: RequestInit["body"]): Buffer | null {
  if (body === null || body === undefined) return null;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("keepAliveFetch sends string or binary bodies only");
}
