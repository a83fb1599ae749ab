/** Largest request body relayed; tessera itself refuses more than 64 KiB. */
export const MAX_BODY_BYTES = 64 * 1024;

export type BodyResult = { kind: "none" } | { kind: "body"; bytes: ArrayBuffer } | { kind: "too_large" };

/**
 * Reads a request body, at most `limit` bytes. The body is streamed and
 * counted, so a client that sends no (or a false) `Content-Length` cannot
 * make the BFF buffer more than the limit: past it, the stream is cancelled.
 */
export async function readLimitedBody(request: Request, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  if (request.method === "GET" || request.method === "HEAD" || request.body === null) return { kind: "none" };
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) {
    await request.body.cancel().catch(() => undefined);
    return { kind: "too_large" };
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // Not awaited: a source that never settles its cancel must not hold the answer.
      reader.cancel().catch(() => undefined);
      return { kind: "too_large" };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { kind: "body", bytes: bytes.buffer };
}
