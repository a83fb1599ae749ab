import type { ResolvedConfig } from "../config.js";
import { TesseraError } from "../errors.js";
import { KeepAliveTimeoutError, keepAliveRequest, toBuffer } from "./node-fetch.js";

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

export async function fetchUpstream(
  config: ResolvedConfig,
  path: string,
  init: { method: string; headers: Headers; body?: ArrayBuffer | string | undefined },
): Promise<UpstreamResult> {
  const url = new URL(path, config.serverUrl);
  const { transport } = config;
  if (transport.kind === "keep-alive") {
    // The kit's own transport, without a WHATWG Response in between.
    try {
      const raw = await keepAliveRequest(url, { method: init.method, headers: init.headers, body: toBuffer(init.body), timeoutMs: config.timeoutMs });
      const empty = raw.status === 204 || raw.status === 304 || init.method === "HEAD";
      return { status: raw.status, headers: raw.headers, body: empty ? null : arrayBufferOf(raw.body) };
    } catch (cause) {
      throw upstreamError(config, cause, cause instanceof KeepAliveTimeoutError);
    }
  }
  const signal = AbortSignal.timeout(config.timeoutMs);
  try {
    const response = await transport.fetch(url, {
      method: init.method,
      headers: init.headers,
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

/** The bytes of `buffer` as an ArrayBuffer of their own (small Buffers share a pool). */
function arrayBufferOf(buffer: Buffer): ArrayBuffer {
  const out = new ArrayBuffer(buffer.byteLength);
  new Uint8Array(out).set(buffer);
  return out;
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
