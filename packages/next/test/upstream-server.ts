import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server standing in for tessera, recording what reached it. */
export async function startUpstream(respond: (request: Received, response: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const record: Received = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      received.push(record);
      respond(record, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bind, note the port, close. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What {@link startJsonUpstream}'s stand-in answers: the body as JSON, headers default to JSON's content type. */
export interface JsonAnswer {
  status: number;
  headers?: [string, string][];
  body?: unknown;
}

/** A stand-in for tessera that answers each request as `answer` says. */
export function startJsonUpstream(answer: (request: Received) => JsonAnswer) {
  return startUpstream((received, response) => {
    const { status, headers, body } = answer(received);
    response.writeHead(status, headers ?? [["content-type", "application/json"]]);
    response.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
