import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.js";
import { TesseraError } from "../src/errors.js";
import { headerValue } from "../src/server/headers.js";
import { IDLE_SOCKET_MS, keepAliveFetch, requestTarget } from "../src/server/node-fetch.js";
import { fetchUpstream, parseJson } from "../src/server/upstream.js";

let server: Server;
let base: string;
const ports = new Set<number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    ports.add(req.socket.remotePort ?? 0);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/cookies") {
        res.setHeader("set-cookie", ["a=1; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT", "b=2; HttpOnly"]);
        res.end("ok");
      } else if (req.url === "/redirect") {
        res.writeHead(302, { location: "https://provider.example/authorize" });
        res.end();
      } else if (req.url === "/empty") {
        res.writeHead(204);
        res.end();
      } else if (req.url === "/echo") {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString(), cookie: req.headers.cookie, key: req.headers["tessera-bff-key"] }));
      } else if (req.url === "/slow") {
        setTimeout(() => res.end("late"), 2000);
      } else if (req.url === "/stalled-body") {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"user":');
        setTimeout(() => res.end("null}"), 2000);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("keepAliveFetch", () => {
  it("keeps every Set-Cookie whole and apart", async () => {
    const r = await keepAliveFetch(new URL("/cookies", base));
    expect(r.status).toBe(200);
    expect(r.headers.getSetCookie()).toEqual(["a=1; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT", "b=2; HttpOnly"]);
    expect(await r.text()).toBe("ok");
  });

  it("never follows a redirect", async () => {
    const r = await keepAliveFetch(`${base}/redirect`, { redirect: "manual" });
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("https://provider.example/authorize");
  });

  it("gives a 204 no body", async () => {
    const r = await keepAliveFetch(`${base}/empty`);
    expect(r.status).toBe(204);
    expect(r.body).toBeNull();
  });

  it("sends the method, headers and body", async () => {
    const body = new TextEncoder().encode('{"email":"a@example.com"}').buffer;
    const r = await keepAliveFetch(`${base}/echo`, {
      method: "POST",
      headers: new Headers({ cookie: "s=1; t=2", "tessera-bff-key": "k" }),
      body,
    });
    expect(await r.json()).toEqual({ method: "POST", body: '{"email":"a@example.com"}', cookie: "s=1; t=2", key: "k" });
  });

  it("reuses one connection for sequential calls", async () => {
    ports.clear();
    for (let i = 0; i < 5; i++) await (await keepAliveFetch(`${base}/echo`)).text();
    expect(ports.size).toBe(1);
  });

  it("gives up when the signal aborts", async () => {
    await expect(keepAliveFetch(`${base}/slow`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
  });

  it("fails on a refused connection", async () => {
    await expect(keepAliveFetch("http://127.0.0.1:9/")).rejects.toThrow();
  });
});

describe("fetchUpstream over the default transport (no Response in between)", () => {
  const config = () => resolveConfig({ serverUrl: base, timeoutMs: 300 });

  it("is the transport a config without fetch resolves to", () => {
    expect(config().transport).toEqual({ kind: "keep-alive" });
  });

  it("keeps every Set-Cookie whole and apart, and the body's bytes", async () => {
    const r = await fetchUpstream(config(), "/cookies", { method: "GET", headers: {} });
    expect(r.status).toBe(200);
    expect(r.headers.getSetCookie()).toEqual(["a=1; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT", "b=2; HttpOnly"]);
    expect(new TextDecoder().decode(r.body ?? new ArrayBuffer(0))).toBe("ok");
  });

  it("sends the method, headers and body", async () => {
    const r = await fetchUpstream(config(), "/echo", {
      method: "POST",
      headers: { cookie: "s=1; t=2", "tessera-bff-key": "k" },
      body: '{"email":"a@example.com"}',
    });
    expect(parseJson(r.body)).toEqual({ method: "POST", body: '{"email":"a@example.com"}', cookie: "s=1; t=2", key: "k" });
  });

  it("gives a 204 no body and a redirect unfollowed", async () => {
    expect((await fetchUpstream(config(), "/empty", { method: "GET", headers: {} })).body).toBeNull();
    const r = await fetchUpstream(config(), "/redirect", { method: "GET", headers: {} });
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("https://provider.example/authorize");
  });

  it("times out as upstream_timeout and a refused connection is upstream_unavailable", async () => {
    await expect(fetchUpstream(config(), "/slow", { method: "GET", headers: {} })).rejects.toMatchObject({
      code: "upstream_timeout",
    });
    await expect(fetchUpstream(config(), "/stalled-body", { method: "GET", headers: {} })).rejects.toMatchObject({
      code: "upstream_timeout",
    });
    const down = resolveConfig({ serverUrl: "http://127.0.0.1:9" });
    const refused = fetchUpstream(down, "/", { method: "GET", headers: {} });
    await expect(refused).rejects.toBeInstanceOf(TesseraError);
    await expect(refused).rejects.toMatchObject({ code: "upstream_unavailable" });
  });
});

describe("the default transport's shortcuts (docs/performance.md, \"The kit\")", () => {
  it("answers Headers only when read, the same object each time, and the body in an ArrayBuffer of its own", async () => {
    const r = await fetchUpstream(resolveConfig({ serverUrl: base }), "/echo", { method: "POST", headers: {}, body: "x" });
    expect(Object.keys(r)).not.toContain("headers");
    expect(r.headers).toBeInstanceOf(Headers);
    expect(r.headers).toBe(r.headers);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.body).toBeInstanceOf(ArrayBuffer);
    expect(parseJson(r.body)).toMatchObject({ method: "POST", body: "x" });
  });

  it("goes where new URL(path, serverUrl) points, remembering each path", () => {
    const server = new URL("http://user:p%40ss@127.0.0.1:4000/prefix/");
    const target = requestTarget(server, "/v1/admin/users?q=a b&cursor=x#frag");
    expect(target).toEqual({ protocol: "http:", hostname: "127.0.0.1", port: 4000, path: "/v1/admin/users?q=a%20b&cursor=x", auth: "user:p@ss", host: "127.0.0.1:4000" });
    // With a query (the route handler passes the browser's on): computed again, not kept.
    expect(requestTarget(server, "/v1/admin/users?q=a b&cursor=x#frag")).not.toBe(target);
    expect(requestTarget(server, "/v1/admin/users?q=a b&cursor=x#frag")).toEqual(target);
    expect(requestTarget(server, "/v1/session")).toBe(requestTarget(server, "/v1/session"));
    expect(requestTarget(new URL("https://[::1]/"), "/v1/session")).toEqual({ protocol: "https:", hostname: "::1", port: undefined, path: "/v1/session", auth: undefined, host: "[::1]" });
    expect(requestTarget(server, "/v1/../v1/./session").path).toBe("/v1/session");
  });

  it("refuses a header value Headers would refuse, before anything is sent", () => {
    expect(headerValue("x", " \tv\r\n")).toBe("v");
    expect(() => headerValue("x", "a\r\nb: c")).toThrow(TypeError);
    expect(() => headerValue("x", "a\0b")).toThrow(TypeError);
  });
});

describe("fetchUpstream over a fetch given in the config", () => {
  it("is chosen when the config has fetch, and every call goes through it (redirects manual, no cache)", async () => {
    const calls: { url: string; init: RequestInit | undefined }[] = [];
    const given: typeof fetch = async (input, init) => {
      calls.push({ url: String(input), init });
      return keepAliveFetch(input, init);
    };
    const config = resolveConfig({ serverUrl: base, fetch: given, timeoutMs: 300 });
    expect(config.transport).toEqual({ kind: "fetch", fetch: given });
    const r = await fetchUpstream(config, "/redirect", { method: "GET", headers: { "tessera-bff-key": "k" } });
    expect(r.status).toBe(302);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(`${base}/redirect`);
    expect(calls[0]?.init).toMatchObject({ method: "GET", redirect: "manual", cache: "no-store" });
    expect(new Headers(calls[0]?.init?.headers).get("tessera-bff-key")).toBe("k");
  });

  it("turns its failures into the same typed errors", async () => {
    const refused: typeof fetch = async () => {
      throw new TypeError("fetch failed");
    };
    await expect(fetchUpstream(resolveConfig({ serverUrl: base, fetch: refused }), "/", { method: "GET", headers: {} })).rejects.toMatchObject({
      code: "upstream_unavailable",
    });
    const slow = resolveConfig({ serverUrl: base, fetch: keepAliveFetch, timeoutMs: 100 });
    await expect(fetchUpstream(slow, "/slow", { method: "GET", headers: {} })).rejects.toMatchObject({ code: "upstream_timeout" });
  });
});

describe("kept-alive connections that die", () => {
  /**
   * A raw server that answers the first request on each connection and
   * resets the connection when a second one arrives on it: what a client
   * sees when it writes onto a connection the server is closing for being
   * idle (hyper's header-read timeout).
   */
  let raw: TcpServer;
  let rawBase: string;
  const seen: string[] = [];

  beforeAll(async () => {
    raw = createTcpServer((socket: Socket) => {
      let requests = 0;
      let buffered = "";
      socket.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("latin1");
        while (buffered.includes("\r\n\r\n")) {
          const end = buffered.indexOf("\r\n\r\n") + 4;
          const head = buffered.slice(0, end);
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffered.length < end + length) return;
          buffered = buffered.slice(end + length);
          requests += 1;
          seen.push(head.slice(0, head.indexOf(" ")));
          if (requests > 1) {
            socket.resetAndDestroy();
            return;
          }
          socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok");
        }
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    rawBase = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => raw.close(() => resolve()));
  });

  it("a GET on a connection reset before any answer is sent again on a new one", async () => {
    seen.length = 0;
    expect(await (await keepAliveFetch(`${rawBase}/a`)).text()).toBe("ok");
    // Same pool, so the next call reuses that connection, which resets.
    const again = await keepAliveFetch(`${rawBase}/b`);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe("ok");
    expect(seen).toEqual(["GET", "GET", "GET"]);
  });

  it("a POST on such a connection fails and is not sent twice", async () => {
    seen.length = 0;
    expect(await (await keepAliveFetch(`${rawBase}/a`)).text()).toBe("ok");
    await expect(keepAliveFetch(`${rawBase}/b`, { method: "POST", body: "x" })).rejects.toMatchObject({ code: "ECONNRESET" });
    // (The GET may itself have met the last test's spent connection and been retried.)
    expect(seen.filter((method) => method === "POST")).toEqual(["POST"]);
    expect(seen.at(-1)).toBe("POST");
  });

  it(`lets go of a connection idle for ${IDLE_SOCKET_MS} ms, before a server closing at 10 s would`, { timeout: IDLE_SOCKET_MS + 5_000 }, async () => {
    const patient = createServer((_req, res) => res.end("ok"));
    patient.keepAliveTimeout = 60_000;
    const closed: number[] = [];
    patient.on("connection", (socket: Socket) => {
      const opened = Date.now();
      socket.on("close", () => closed.push(Date.now() - opened));
    });
    await new Promise<void>((resolve) => patient.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(patient.address() as AddressInfo).port}/`;
      expect(await (await keepAliveFetch(url)).text()).toBe("ok");
      await new Promise((resolve) => setTimeout(resolve, IDLE_SOCKET_MS + 1_500));
      // The server would have kept it a minute: the client closed it.
      expect(closed).toHaveLength(1);
      expect(closed[0]).toBeGreaterThanOrEqual(IDLE_SOCKET_MS - 100);
      expect(IDLE_SOCKET_MS).toBeLessThan(10_000);
    } finally {
      patient.closeAllConnections();
      await new Promise<void>((resolve) => patient.close(() => resolve()));
    }
  });
});
