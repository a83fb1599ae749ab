import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.js";
import { TesseraError } from "../src/errors.js";
import { keepAliveFetch } from "../src/server/node-fetch.js";
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
  const config = () => resolveConfig({ serverUrl: base, fetch: keepAliveFetch, timeoutMs: 300 });

  it("keeps every Set-Cookie whole and apart, and the body's bytes", async () => {
    const r = await fetchUpstream(config(), "/cookies", { method: "GET", headers: new Headers() });
    expect(r.status).toBe(200);
    expect(r.headers.getSetCookie()).toEqual(["a=1; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT", "b=2; HttpOnly"]);
    expect(new TextDecoder().decode(r.body ?? new ArrayBuffer(0))).toBe("ok");
  });

  it("sends the method, headers and body", async () => {
    const r = await fetchUpstream(config(), "/echo", {
      method: "POST",
      headers: new Headers({ cookie: "s=1; t=2", "tessera-bff-key": "k" }),
      body: '{"email":"a@example.com"}',
    });
    expect(parseJson(r.body)).toEqual({ method: "POST", body: '{"email":"a@example.com"}', cookie: "s=1; t=2", key: "k" });
  });

  it("gives a 204 no body and a redirect unfollowed", async () => {
    expect((await fetchUpstream(config(), "/empty", { method: "GET", headers: new Headers() })).body).toBeNull();
    const r = await fetchUpstream(config(), "/redirect", { method: "GET", headers: new Headers() });
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("https://provider.example/authorize");
  });

  it("times out as upstream_timeout and a refused connection is upstream_unavailable", async () => {
    await expect(fetchUpstream(config(), "/slow", { method: "GET", headers: new Headers() })).rejects.toMatchObject({
      code: "upstream_timeout",
    });
    await expect(fetchUpstream(config(), "/stalled-body", { method: "GET", headers: new Headers() })).rejects.toMatchObject({
      code: "upstream_timeout",
    });
    const down = resolveConfig({ serverUrl: "http://127.0.0.1:9", fetch: keepAliveFetch });
    const refused = fetchUpstream(down, "/", { method: "GET", headers: new Headers() });
    await expect(refused).rejects.toBeInstanceOf(TesseraError);
    await expect(refused).rejects.toMatchObject({ code: "upstream_unavailable" });
  });
});
