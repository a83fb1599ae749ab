import { AsyncResource } from "node:async_hooks";
import type { IncomingHttpHeaders } from "node:http";
import net from "node:net";

/**
 * The kit's HTTP/1.1 client for `http:` servers: kept-alive connections
 * over `node:net`, one request at a time on each, the answer buffered whole.
 *
 * Why not `node:http`: a call through its `ClientRequest`, agent,
 * `IncomingMessage` stream and parser costs several times the CPU of
 * writing one request and reading one answer on a socket, and
 * `getSession()` makes one call on every page render (figures in
 * docs/performance.md, "The kit"). What it does is the subset the kit
 * needs: Content-Length, chunked and read-to-close bodies, interim (1xx)
 * answers skipped, `Connection: close` honoured, idle connections let go.
 * `https:` servers still go through `node:https` (`node-fetch.ts`).
 *
 * Pinned by test/node-fetch.test.ts and test/http1.test.ts.
 */

/**
 * A kept-alive connection unused this long is closed by us. tessera (hyper)
 * closes one idle for its header-read timeout, 10 s by default; a request
 * written onto a connection as the server closes it fails with ECONNRESET.
 * Letting go first keeps that race away (a script that sent requests every
 * 95–105 ms to a server closing after 100 ms idle lost 5 in 300 this way).
 */
export const IDLE_SOCKET_MS = 4_000;
/** Connections open at once to one server, as the `node:http` agent had; more requests wait. */
export const MAX_SOCKETS = 256;
/** Largest answer head accepted, as `node:http`'s default `maxHeaderSize`. */
const MAX_HEAD_BYTES = 16 * 1024;

/** What {@link send} answers. */
export interface Answer {
  status: number;
  statusText: string;
  /** Names and values as they came, name, value, name, value… */
  rawHeaders: string[];
  body: Buffer[];
  length: number;
}

/** A request for {@link send}: where, and the bytes to write. */
export interface Outgoing {
  hostname: string;
  port: number;
  method: string;
  /** The whole request: head and body. */
  bytes: Buffer;
  /** The request said `Connection: close`: the connection is not kept after the answer. */
  close: boolean;
}

/** How an exchange in flight ends: one of the two, once. */
export interface Pending {
  answered(answer: Answer): void;
  /** `fresh` false: the connection had served a request before and no byte of an answer came (a dead kept-alive connection). */
  failed(error: Error, reusedAndSilent: boolean): void;
}

/** Cancels a request: a waiting one leaves the queue, one in flight loses its connection. */
export type Cancel = (error: Error) => void;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const INVALID_PATH = /[^\u0021-\u00ff]/;
/** Control characters `node:http`'s parser refuses in a header value. */
const INVALID_ANSWER_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?$/;
/** Methods `node:http` sends without a body unless given one (no Content-Length: 0). */
const NO_BODY_BY_DEFAULT = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);

function codedError(message: string, code: string, Kind: ErrorConstructor | TypeErrorConstructor = Error): Error {
  return Object.assign(new Kind(message), { code });
}

/**
 * The request's bytes, with the checks `node:http` makes: method and header
 * names tokens, values without control characters, the path without
 * spaces. Throws a TypeError as it did.
 */
export function requestBytes(
  method: string,
  path: string,
  hostHeader: string,
  auth: string | undefined,
  headers: Readonly<Record<string, string>>,
  body: Buffer | null,
): { bytes: Buffer; close: boolean } {
  if (!TOKEN.test(method)) throw codedError(`Method must be a valid HTTP token ["${method}"]`, "ERR_INVALID_HTTP_TOKEN", TypeError);
  const verb = method.toUpperCase();
  if (INVALID_PATH.test(path)) throw codedError("Request path contains unescaped characters", "ERR_UNESCAPED_CHARACTERS", TypeError);
  let head = `${verb} ${path} HTTP/1.1\r\n`;
  let host = false;
  let connection: string | undefined;
  let authorization = false;
  for (const name of Object.keys(headers)) {
    const value = headers[name] as string;
    if (!TOKEN.test(name)) throw codedError(`Header name must be a valid HTTP token ["${name}"]`, "ERR_INVALID_HTTP_TOKEN", TypeError);
    if (INVALID_VALUE.test(value)) throw codedError(`Invalid character in header content ["${name}"]`, "ERR_INVALID_CHAR", TypeError);
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "transfer-encoding") continue; // ours, from the body
    if (lower === "host") host = true;
    else if (lower === "connection") connection = value;
    else if (lower === "authorization") authorization = true;
    head += `${name}: ${value}\r\n`;
  }
  if (!host) head += `Host: ${hostHeader}\r\n`;
  if (auth !== undefined && !authorization) head += `Authorization: Basic ${Buffer.from(auth).toString("base64")}\r\n`;
  if (body) head += `Content-Length: ${body.byteLength}\r\n`;
  else if (!NO_BODY_BY_DEFAULT.has(verb)) head += "Content-Length: 0\r\n";
  if (connection === undefined) head += "Connection: keep-alive\r\n";
  head += "\r\n";
  const close = connection !== undefined && connection.toLowerCase().split(",").some((token) => token.trim() === "close");
  const headBytes = Buffer.from(head, "latin1");
  return { bytes: body ? Buffer.concat([headBytes, body]) : headBytes, close };
}

/** Repeated headers `node:http` keeps only the first of (`message.headers`). */
const FIRST_ONLY = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/** Raw headers as `node:http`'s `message.headers`: Set-Cookie an array, some repeats dropped, the others joined with ", ". */
export function headersObject(raw: readonly string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const known = out[name];
    if (name === "set-cookie") {
      if (known === undefined) out[name] = [value];
      else (known as string[]).push(value);
    } else if (known === undefined) out[name] = value;
    else if (!FIRST_ONLY.has(name)) out[name] = `${known as string}, ${value}`;
  }
  return out as IncomingHttpHeaders;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
}

class Pool {
  readonly idle: Connection[] = [];
  readonly waiting: { outgoing: Outgoing; pending: Pending; take: (connection: Connection) => void }[] = [];
  open = 0;
  constructor(
    readonly hostname: string,
    readonly port: number,
  ) {}
}

const pools = new Map<string, Pool>();

/**
 * Sockets are opened in this scope, not the one of the request that
 * happened to open them: a kept-alive socket would otherwise carry that
 * request's async context (Next's request store) for as long as it lives.
 */
const neutral = new AsyncResource("TesseraConnection");

class Connection {
  readonly socket: net.Socket;
  /** Served a request before the current one. */
  reused = false;
  pending: Pending | null = null;
  private method = "GET";
  private close = false;
  private answerBytes = false;
  private state = State.Head;
  private rest: Buffer | null = null;
  private remaining = 0;
  private status = 0;
  private statusText = "";
  private rawHeaders: string[] = [];
  private keepAlive = true;
  private body: Buffer[] = [];
  private length = 0;
  private dead = false;

  constructor(readonly pool: Pool) {
    this.socket = neutral.runInAsyncScope(() => net.connect({ host: pool.hostname, port: pool.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1_000 }));
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error: Error) => this.onEnd(error));
    this.socket.on("close", () => this.onEnd(null));
    this.socket.on("end", () => this.onEnd(null));
    this.socket.on("timeout", () => this.destroy());
  }

  start(outgoing: Outgoing, pending: Pending): void {
    this.pending = pending;
    this.method = outgoing.method.toUpperCase();
    this.close = outgoing.close;
    this.answerBytes = false;
    this.state = State.Head;
    this.rest = null;
    this.rawHeaders = [];
    this.body = [];
    this.length = 0;
    this.socket.write(outgoing.bytes);
  }

  destroy(error?: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.forget();
    this.socket.destroy();
    const pending = this.pending;
    this.pending = null;
    if (pending && error) pending.failed(error, false);
    dispatch(this.pool);
  }

  /** Out of the pool's books (idle list, open count). */
  private forget(): void {
    const { idle } = this.pool;
    const at = idle.indexOf(this);
    if (at !== -1) idle.splice(at, 1);
    this.pool.open -= 1;
  }

  private onEnd(error: Error | null): void {
    if (this.dead) return;
    const pending = this.pending;
    if (pending && this.state === State.UntilClose && error === null) {
      // The body ran to the end of the connection: that is its end.
      this.pending = null;
      this.dead = true;
      this.forget();
      this.socket.destroy();
      pending.answered(this.answer());
      dispatch(this.pool);
      return;
    }
    this.dead = true;
    this.forget();
    this.socket.destroy();
    this.pending = null;
    if (pending) {
      const failure = error ?? codedError("socket hang up", "ECONNRESET");
      pending.failed(failure, this.reused && !this.answerBytes);
    }
    dispatch(this.pool);
  }

  private answer(): Answer {
    return { status: this.status, statusText: this.statusText, rawHeaders: this.rawHeaders, body: this.body, length: this.length };
  }

  private fail(message: string): void {
    const pending = this.pending;
    this.pending = null;
    this.dead = true;
    this.forget();
    this.socket.destroy();
    pending?.failed(codedError(message, "HPE_INVALID_RESPONSE"), false);
    dispatch(this.pool);
  }

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    if (!this.pending) {
      // Bytes nobody asked for: the connection cannot be trusted any more.
      this.destroy();
      return;
    }
    this.answerBytes = true;
    let data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    while (data.length > 0) {
      if (!this.pending) {
        this.destroy();
        return;
      }
      switch (this.state) {
        case State.Head: {
          const end = data.indexOf("\r\n\r\n", 0, "latin1");
          if (end === -1 || end > MAX_HEAD_BYTES) {
            if (end > MAX_HEAD_BYTES || data.length > MAX_HEAD_BYTES + 3) return this.fail("answer head too large");
            this.rest = data;
            return;
          }
          const head = data.toString("latin1", 0, end);
          data = data.subarray(end + 4);
          if (!this.parseHead(head)) return;
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, data.length);
          this.push(data.subarray(0, take));
          data = data.subarray(take);
          this.remaining -= take;
          if (this.remaining === 0) this.finish(data.length > 0);
          break;
        }
        case State.ChunkSize: {
          const eol = data.indexOf("\r\n", 0, "latin1");
          if (eol === -1) {
            if (data.length > 1024) return this.fail("chunk size line too long");
            this.rest = data;
            return;
          }
          const line = data.toString("latin1", 0, eol);
          const digits = line.split(";", 1)[0]?.trim() ?? "";
          if (!/^[0-9a-fA-F]{1,12}$/.test(digits)) return this.fail("invalid chunk size");
          this.remaining = parseInt(digits, 16);
          data = data.subarray(eol + 2);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, data.length);
          this.push(data.subarray(0, take));
          data = data.subarray(take);
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.ChunkEnd;
          break;
        }
        case State.ChunkEnd: {
          if (data.length < 2) {
            this.rest = data;
            return;
          }
          if (data[0] !== 13 || data[1] !== 10) return this.fail("invalid chunk end");
          data = data.subarray(2);
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const eol = data.indexOf("\r\n", 0, "latin1");
          if (eol === -1) {
            if (data.length > MAX_HEAD_BYTES) return this.fail("trailers too large");
            this.rest = data;
            return;
          }
          data = data.subarray(eol + 2);
          if (eol === 0) this.finish(data.length > 0);
          break;
        }
        case State.UntilClose: {
          this.push(data);
          data = data.subarray(data.length);
          break;
        }
      }
    }
    // The answer is complete when its head says it has no body and no byte follows.
    if (this.pending && this.state === State.Length && this.remaining === 0) this.finish(false);
  }

  private push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.body.push(bytes);
    this.length += bytes.length;
  }

  /** Reads an answer head; false when the connection was failed. */
  private parseHead(head: string): boolean {
    const lines = head.split("\r\n");
    const match = STATUS_LINE.exec(lines[0] ?? "");
    if (!match) {
      this.fail("invalid status line");
      return false;
    }
    const http10 = match[1] === "0";
    const status = Number(match[2]);
    const raw: string[] = [];
    let contentLength: string | undefined;
    let transferEncoding: string | undefined;
    let connection = "";
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(":");
      const name = colon > 0 ? line.slice(0, colon) : "";
      if (!TOKEN.test(name)) {
        this.fail("invalid header line");
        return false;
      }
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
      if (INVALID_ANSWER_VALUE.test(value)) {
        this.fail("invalid header value");
        return false;
      }
      raw.push(name, value);
      const lower = name.toLowerCase();
      if (lower === "content-length") {
        if (contentLength !== undefined && contentLength !== value) {
          this.fail("conflicting Content-Length");
          return false;
        }
        contentLength = value;
      } else if (lower === "transfer-encoding") transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
      else if (lower === "connection") connection += `,${value.toLowerCase()}`;
    }
    if (status < 200) {
      if (status === 101) {
        this.fail("unexpected protocol switch");
        return false;
      }
      return true; // an interim answer: the real one follows
    }
    const tokens = connection.split(",").map((token) => token.trim());
    this.keepAlive = !this.close && (http10 ? tokens.includes("keep-alive") : !tokens.includes("close"));
    this.status = status;
    this.statusText = match[3] ?? "";
    this.rawHeaders = raw;
    if (this.method === "HEAD" || status === 204 || status === 304) {
      this.state = State.Length;
      this.remaining = 0;
    } else if (transferEncoding !== undefined) {
      if (contentLength !== undefined) {
        this.fail("Content-Length with Transfer-Encoding");
        return false;
      }
      const codings = transferEncoding.split(",");
      if ((codings[codings.length - 1] ?? "").trim().toLowerCase() === "chunked") this.state = State.ChunkSize;
      else {
        this.state = State.UntilClose;
        this.keepAlive = false;
      }
    } else if (contentLength !== undefined) {
      if (!/^\d{1,15}$/.test(contentLength)) {
        this.fail("invalid Content-Length");
        return false;
      }
      this.state = State.Length;
      this.remaining = Number(contentLength);
    } else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
    return true;
  }

  /** The answer is whole; `more`: bytes came after it. */
  private finish(more: boolean): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    const answer = this.answer();
    this.state = State.Head;
    this.body = [];
    if (more || !this.keepAlive) {
      this.dead = true;
      this.forget();
      this.socket.destroy();
    } else {
      this.reused = true;
      release(this);
    }
    pending.answered(answer);
    if (this.dead) dispatch(this.pool);
  }
}

function poolFor(hostname: string, port: number): Pool {
  const key = `${hostname}:${port}`;
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = new Pool(hostname, port)));
  return pool;
}

/** A connection whose answer is complete goes to the next waiting request, or rests. */
function release(connection: Connection): void {
  const pool = connection.pool;
  const next = pool.waiting.shift();
  if (next) {
    next.take(connection);
    return;
  }
  connection.socket.setTimeout(IDLE_SOCKET_MS);
  connection.socket.unref();
  pool.idle.push(connection);
}

/** Starts waiting requests while the pool has room (after a connection closed). */
function dispatch(pool: Pool): void {
  while (pool.waiting.length > 0 && pool.open < MAX_SOCKETS) {
    const next = pool.waiting.shift();
    if (!next) return;
    pool.open += 1;
    next.take(new Connection(pool));
  }
}

/**
 * Sends `outgoing` on a kept-alive connection to its server (the most
 * recently rested one, else a new one, else it waits for one) and reports
 * through `pending`. Returns how to cancel it.
 */
export function send(outgoing: Outgoing, pending: Pending): Cancel {
  const pool = poolFor(outgoing.hostname, outgoing.port);
  let connection: Connection | null = null;
  let waiting: Pool["waiting"][number] | null = null;
  let done = false;
  const guarded: Pending = {
    answered(answer) {
      if (done) return;
      done = true;
      pending.answered(answer);
    },
    failed(error, reusedAndSilent) {
      if (done) return;
      done = true;
      pending.failed(error, reusedAndSilent);
    },
  };
  const take = (chosen: Connection) => {
    connection = chosen;
    chosen.socket.setTimeout(0);
    chosen.socket.ref();
    chosen.start(outgoing, guarded);
  };
  let idle = pool.idle.pop();
  // One the server has just closed, whose "end" is not handled yet, is not taken.
  while (idle && (idle.socket.destroyed || !idle.socket.writable || idle.socket.readableEnded)) {
    idle.destroy();
    idle = pool.idle.pop();
  }
  if (idle) take(idle);
  else if (pool.open < MAX_SOCKETS) {
    pool.open += 1;
    take(new Connection(pool));
  } else {
    waiting = { outgoing, pending: guarded, take };
    pool.waiting.push(waiting);
  }
  return (error) => {
    if (done) return;
    if (waiting) {
      const at = pool.waiting.indexOf(waiting);
      if (at !== -1) pool.waiting.splice(at, 1);
    }
    if (connection) {
      const chosen: Connection = connection;
      chosen.pending = null;
      chosen.destroy();
    }
    guarded.failed(error, false);
  };
}
