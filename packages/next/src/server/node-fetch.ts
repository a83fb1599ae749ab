import http from "node:http";
import https from "node:https";

/**
 * The transport for calls to tessera: `node:http` over kept-alive
 * connections, shaped like `fetch` (the subset `fetchUpstream` uses).
 *
 * Why not the global `fetch`: in Node it is undici, which here cost about
 * 330–390 µs of CPU per call to tessera's whoami against 70–85 µs for
 * `node:http` with a keep-alive agent (measured for the Next.js benchmark,
 * `bench/scenarios/30-nextjs.sh`). `getSession()` runs on every page render,
 * so that difference is most of what authentication adds to a page.
 * `TesseraConfig.fetch` still replaces it (tests do).
 */
const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 256 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

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
 * `arrayBuffer()` cost about 45 µs of CPU per call, about a third of the
 * call's cost in Node (measured against tessera's whoami, 5 × 5 000 calls).
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
    // A plain timer, not AbortSignal.timeout: in a --cpu-prof of `next start`
    // under the Next.js benchmark, making AbortSignals (createAbortSignal and
    // makeTransferable) went from 44.6 to 39.3 µs per request with this change
    // (Next makes the rest). It covers the body too: headers followed by a
    // stalled body still time out.
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: unknown) => {
      clearTimeout(timer);
      reject(error);
    };
    const request = client.request(url, { method: init.method, headers, agent, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", fail);
      res.on("end", () => {
        clearTimeout(timer);
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
        }
        resolve({ status: res.statusCode ?? 502, statusText: res.statusMessage ?? "", headers: out, body: Buffer.concat(chunks) });
      });
    });
    request.on("error", fail);
    if (init.timeoutMs !== undefined) {
      const ms = init.timeoutMs;
      timer = setTimeout(() => {
        reject(new KeepAliveTimeoutError(ms));
        request.destroy();
      }, ms);
    }
    if (init.body) request.write(init.body);
    request.end();
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
