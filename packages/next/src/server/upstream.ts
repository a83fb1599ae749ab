import type { ResolvedConfig } from "../config.js";
import { TesseraError } from "../errors.js";

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
  const signal = AbortSignal.timeout(config.timeoutMs);
  try {
    const response = await config.fetch(url, {
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
    if (signal.aborted) {
      throw new TesseraError("upstream_timeout", `tessera did not answer within ${config.timeoutMs} ms`, { cause });
    }
    throw new TesseraError("upstream_unavailable", "tessera is unreachable", { cause });
  }
}

export function parseJson(body: ArrayBuffer | null): unknown {
  if (!body || body.byteLength === 0) return null;
  try {
    return JSON.parse(new TextDecoder().decode(body)) as unknown;
  } catch {
    return null;
  }
}
