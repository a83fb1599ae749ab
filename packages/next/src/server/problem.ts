import type { Problem } from "../types.js";

const TITLES: Record<number, string> = {
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Payload Too Large",
  503: "Service Unavailable",
};

/** An RFC 9457 answer produced by the BFF itself (not relayed from tessera). */
export function problemResponse(status: number, code: string, detail: string, headers?: Record<string, string>): Response {
  const problem: Problem = { type: "about:blank", title: TITLES[status] ?? "Error", status, code, detail };
  return new Response(JSON.stringify(problem), {
    status,
    headers: {
      "content-type": "application/problem+json",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...headers,
    },
  });
}
