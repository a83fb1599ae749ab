import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headersObject, requestBytes } from "../src/server/http1.js";
import { keepAliveFetch } from "../src/server/node-fetch.js";

/**
 * The kit's HTTP/1.1 client (src/server/http1.ts) against a raw TCP server
 * that answers each request with bytes the test chose, as `node:http` would
 * have read them: body framings, interim answers, closing connections,
 * answers that are not HTTP.
 */
let server: Server;
let base: string;
/** Per path: the bytes to answer with, written in these pieces, then close the connection or not. */
const scripts = new Map<string, { pieces: string[]; close?: boolean }>();
const requests: { head: string; port: number }[] = [];

beforeAll(async () => {
  server = createServer((socket: Socket) => {
    let buffered = "";
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        requests.push({ head, port: socket.remotePort ?? 0 });
        const path = head.split(" ")[1] ?? "";
        const script = scripts.get(path) ?? { pieces: ["HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"] };
        void (async () => {
          for (const piece of script.pieces) {
            socket.write(Buffer.from(piece, "latin1"));
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          if (script.close) socket.end();
        })();
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function text(path: string, init?: RequestInit) {
  const response = await keepAliveFetch(`${base}${path}`, init);
  return { status: response.status, statusText: response.statusText, headers: response.headers, body: await response.text() };
}

describe("http1: body framings", () => {
  it("reads a chunked body, with extensions and trailers, split anywhere", async () => {
    scripts.set("/chunked", {
      pieces: ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=1\r\nhel", "lo\r\n", "6\r\n world\r", "\n0\r\ntrailer: t\r\n\r\n"],
    });
    expect(await text("/chunked")).toMatchObject({ status: 200, statusText: "OK", body: "hello world" });
  });

  it("reads a head that comes one byte at a time", async () => {
    const answer = "HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
    scripts.set("/bytes", { pieces: [...answer] });
    const got = await text("/bytes");
    expect(got).toMatchObject({ status: 201, statusText: "Created", body: "ok" });
    expect(got.headers.get("content-type")).toBe("text/plain");
  });

  it("reads a body without length to the end of the connection, and does not reuse it", async () => {
    scripts.set("/until-close", { pieces: ["HTTP/1.1 200 OK\r\n\r\nall ", "of it"], close: true });
    expect(await text("/until-close")).toMatchObject({ status: 200, body: "all of it" });
  });

  it("skips interim answers", async () => {
    scripts.set("/interim", { pieces: ["HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n", "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nreal"] });
    expect(await text("/interim")).toMatchObject({ status: 200, body: "real" });
  });

  it("gives no body for HEAD, 204 and 304 whatever their headers say", async () => {
    scripts.set("/head", { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n"] });
    expect(await text("/head", { method: "HEAD" })).toMatchObject({ status: 200, body: "" });
    scripts.set("/not-modified", { pieces: ["HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n"] });
    expect(await text("/not-modified")).toMatchObject({ status: 304, body: "" });
  });
});

describe("http1: connections", () => {
  it("keeps a connection for the next request, and drops one the answer closes (Connection: close, HTTP/1.0)", async () => {
    scripts.set("/keep", { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nk"] });
    scripts.set("/close", { pieces: ["HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\nc"] });
    scripts.set("/http10", { pieces: ["HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\nh"] });
    const portOf = async (path: string) => {
      await text(path);
      return requests.at(-1)?.port;
    };
    const first = await portOf("/keep");
    expect(await portOf("/keep")).toBe(first);
    expect(await portOf("/close")).toBe(first);
    const afterClose = await portOf("/keep");
    expect(afterClose).not.toBe(first);
    expect(await portOf("/http10")).toBe(afterClose);
    expect(await portOf("/keep")).not.toBe(afterClose);
  });

  it("answers requests made at once on as many connections", async () => {
    scripts.set("/slowish", { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n", "s"] });
    const before = requests.length;
    const bodies = await Promise.all(Array.from({ length: 5 }, () => text("/slowish").then((r) => r.body)));
    expect(bodies).toEqual(["s", "s", "s", "s", "s"]);
    expect(new Set(requests.slice(before).map((r) => r.port)).size).toBe(5);
  });

  it("sends Host, Connection: keep-alive and the body's length; Content-Length: 0 for a POST without one", async () => {
    scripts.set("/echo", { pieces: ["HTTP/1.1 204 No Content\r\n\r\n"] });
    await text("/echo", { method: "POST", body: "abc", headers: { "x-a": "1" } });
    const head = requests.at(-1)?.head ?? "";
    expect(head.split("\r\n")).toEqual(["POST /echo HTTP/1.1", "x-a: 1", `Host: ${new URL(base).host}`, "Content-Length: 3", "Connection: keep-alive"]);
    await text("/echo", { method: "POST" });
    expect(requests.at(-1)?.head).toContain("\r\nContent-Length: 0\r\n");
    await text("/echo", { method: "DELETE" });
    expect(requests.at(-1)?.head).not.toContain("Content-Length");
  });
});

describe("http1: answers that are not HTTP are errors, and the connection goes", () => {
  it.each([
    ["a status line that is not HTTP/1.x", "ICY 200 OK\r\n\r\n"],
    ["a folded header line", "HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n"],
    ["Content-Length with Transfer-Encoding", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"],
    ["two different Content-Lengths", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc"],
    ["a chunk size that is not hex", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"],
    ["a control character in a value", "HTTP/1.1 200 OK\r\nx-a: a\u0001b\r\ncontent-length: 0\r\n\r\n"],
  ])("%s", async (_, answer) => {
    scripts.set("/bad", { pieces: [answer] });
    await expect(keepAliveFetch(`${base}/bad`)).rejects.toMatchObject({ code: "HPE_INVALID_RESPONSE" });
  });

  it("a head over 16 KiB", async () => {
    scripts.set("/huge", { pieces: [`HTTP/1.1 200 OK\r\nx-a: ${"a".repeat(17 * 1024)}\r\n\r\n`] });
    await expect(keepAliveFetch(`${base}/huge`)).rejects.toMatchObject({ code: "HPE_INVALID_RESPONSE" });
  });

  it("a connection closed before the whole body is a reset, not a short answer", async () => {
    scripts.set("/short", { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"], close: true });
    await expect(keepAliveFetch(`${base}/short`)).rejects.toMatchObject({ code: "ECONNRESET" });
  });
});

describe("http1: what is written", () => {
  it("refuses what node:http refused: CR or LF in a value, a name that is no token, a space in the path", () => {
    expect(() => requestBytes("GET", "/", "h", undefined, { "x-a": "a\r\nx-b: c" }, null)).toThrow(TypeError);
    expect(() => requestBytes("GET", "/", "h", undefined, { "x a": "1" }, null)).toThrow(TypeError);
    expect(() => requestBytes("GET", "/a b", "h", undefined, {}, null)).toThrow(TypeError);
    expect(() => requestBytes("G T", "/", "h", undefined, {}, null)).toThrow(TypeError);
  });

  it("sends a URL's credentials as Basic authorization, and a given Host or Connection instead of its own", () => {
    const { bytes, close } = requestBytes("get", "/p?q", "h:1", "u:p@ss", { host: "other", connection: "close" }, null);
    expect(bytes.toString("latin1").split("\r\n")).toEqual(["GET /p?q HTTP/1.1", "host: other", "connection: close", `Authorization: Basic ${Buffer.from("u:p@ss").toString("base64")}`, "", ""]);
    expect(close).toBe(true);
  });

  it("reads headers as node:http did: Set-Cookie apart, first Content-Type only, other repeats joined", () => {
    expect(headersObject(["Set-Cookie", "a=1", "set-cookie", "b=2", "Content-Type", "a/b", "content-type", "c/d", "Vary", "x", "vary", "y"])).toEqual({
      "set-cookie": ["a=1", "b=2"],
      "content-type": "a/b",
      vary: "x, y",
    });
  });
});
