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

export async function keepAliveFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const url = input instanceof URL ? input : new URL(typeof input === "string" ? input : input.url);
  const client = url.protocol === "https:" ? https : http;
  const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const body = toBuffer(init.body);
  if (body) headers["content-length"] = String(body.byteLength);
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  return new Promise<Response>((resolve, reject) => {
    const request = client.request(url, { method: init.method ?? "GET", headers, agent, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
        }
        const status = res.statusCode ?? 502;
        const payload = NULL_BODY.has(status) ? null : Buffer.concat(chunks);
        resolve(new Response(payload, { status, statusText: res.statusMessage ?? "", headers: out }));
      });
    });
    request.on("error", reject);
    if (body) request.write(body);
    request.end();
  });
}

function toBuffer(body: RequestInit["body"]): Buffer | null {
  if (body === null || body === undefined) return null;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("keepAliveFetch sends string or binary bodies only");
}
