import { createServer, request as forward, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";

/** Headers that describe one hop's connection, never passed on. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

export interface AppendingProxy {
  close(): Promise<void>;
}

function appendForwardedFor(headers: IncomingHttpHeaders, peer: string): OutgoingHttpHeaders {
  const outgoing: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) outgoing[name] = value;
  }
  const prior = headers["x-forwarded-for"];
  outgoing["x-forwarded-for"] = prior ? `${prior}, ${peer}` : peer;
  return outgoing;
}

/**
 * The reverse proxy of a production deployment, in miniature: it appends the
 * address it saw on the socket to X-Forwarded-For (so whatever a browser
 * claimed stays to the left of it) and passes everything else through
 * (Host included, so Next sees the public origin).
 */
export async function startAppendingProxy(listen: { host: string; port: number }, target: { host: string; port: number }): Promise<AppendingProxy> {
  const server = createServer((req, res) => {
    const upstream = forward(
      { host: target.host, port: target.port, method: req.method, path: req.url, headers: appendForwardedFor(req.headers, req.socket.remoteAddress ?? "") },
      (answer) => {
        const headers: string[] = [];
        for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
          const name = answer.rawHeaders[i] ?? "";
          if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, answer.rawHeaders[i + 1] ?? "");
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
