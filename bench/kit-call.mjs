// CPU per getSession() call of two builds of the kit, side by side in one
// process: what docs/performance.md's "The kit" figures for a single change
// come from. Build packages/next (npm run build) in two worktrees, then
//
//   taskset -c 0 node bench/kit-call.mjs DIST_A DIST_B [UPSTREAM_URL]
//
// DIST_* are packages/next/dist directories. Each call is what getSession()
// does once it holds the request's headers() and cookies(): the headers for
// tessera, GET /v1/session, the JSON read. Calls run 8 at a time inside an
// AsyncLocalStorage context (Next runs every request in one, so every
// promise pays its hooks), in batches of 500, A and B alternating for 40
// rounds (the order reversed every other round); the figure is each one's
// total CPU time over its calls. Without UPSTREAM_URL a stand-in for
// tessera's answer (same headers, same size) runs in a child process on CPU 1.
// Not a test.
import { spawn } from "node:child_process";
import { AsyncLocalStorage } from "node:async_hooks";
import { register } from "node:module";

// The kit imports `next/headers`, which only Next's bundler resolves without the extension.
register(
  `data:text/javascript,${encodeURIComponent(
    'export async function resolve(s, c, next) { return next(s === "next/headers" ? "next/headers.js" : s, c); }',
  )}`,
);

const [A, B, given] = process.argv.slice(2);
if (!A || !B) {
  console.error("usage: node bench/kit-call.mjs DIST_A DIST_B [UPSTREAM_URL]");
  process.exit(2);
}
const ROUNDS = 40;
const BATCH = 500;
const CONCURRENCY = 8;

const STAND_IN = `
const body = JSON.stringify({ user: { id: "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000", email: "bench@example.com", email_verified: false, roles: [], created_at: "2026-12-05T09:00:00Z" }, session: { id: "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0001", created_at: "2026-12-05T09:00:00Z", expires_at: "2026-12-06T09:00:00Z", absolute_expires_at: "2026-12-12T09:00:00Z" } });
require("node:http").createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "content-length": Buffer.byteLength(body) });
  res.end(body);
}).listen(0, "127.0.0.1", function () { console.log("http://127.0.0.1:" + this.address().port); });`;

let upstream = given;
let child;
if (!upstream) {
  child = spawn("taskset", ["-c", "1", process.execPath, "-e", STAND_IN], { stdio: ["ignore", "pipe", "inherit"] });
  upstream = await new Promise((resolve) => child.stdout.once("data", (line) => resolve(String(line).trim())));
}

const session = "a".repeat(43);
const incoming = new Headers({ host: "127.0.0.1:3000", "user-agent": "wrk", cookie: `__Host-tessera_session=${session}; theme=dark`, accept: "*/*" });
const store = {
  get: (name) => (name === "__Host-tessera_session" ? { name, value: session } : undefined),
  getAll: () => [{ name: "__Host-tessera_session", value: session }, { name: "theme", value: "dark" }],
};
const CALL = { method: "GET", path: "/v1/session", forwardIntent: false };

async function load(dist) {
  const { resolveConfig } = await import(`${dist}/config.js`);
  const { fetchUpstream, parseJson } = await import(`${dist}/server/upstream.js`);
  const { upstreamHeaders } = await import(`${dist}/server/headers.js`);
  const request = await import(`${dist}/server/request.js`);
  const config = resolveConfig({ serverUrl: upstream, bffKey: "k".repeat(64), publicOrigin: "http://127.0.0.1:3000" });
  const check = (result) => {
    if (result.status !== 200 || parseJson(result.body) === null) throw new Error(`answered ${result.status}`);
  };
  if (request.callTesseraWith) return async () => check(await request.callTesseraWith(config, CALL, incoming, store));
  // A kit from before callTesseraWith (04f8c7b): its callTessera without Next's headers() and cookies().
  return async () => {
    await incoming;
    await store;
    const jar = `__Host-tessera_session=${session}`;
    const outgoing = upstreamHeaders({ get: (name) => (name === "cookie" ? jar : incoming.get(name)) }, config);
    for (const name of ["authorization", "content-type", "x-csrf-token", "origin", "sec-fetch-site"]) outgoing.delete(name);
    outgoing.set("accept", "application/json");
    check(await (async () => fetchUpstream(config, "/v1/session", { method: "GET", headers: outgoing }))());
  };
}

const calls = { A: await load(A), B: await load(B) };
async function batch(call, n) {
  let left = n;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await call();
    }),
  );
}
const context = new AsyncLocalStorage();
await context.run({ request: true }, async () => {
  await batch(calls.A, 3000);
  await batch(calls.B, 3000);
  const total = { A: 0, B: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 ? ["B", "A"] : ["A", "B"]) {
      const start = process.cpuUsage();
      await batch(calls[name], BATCH);
      const used = process.cpuUsage(start);
      total[name] += used.user + used.system;
    }
  }
  const per = (name) => total[name] / (ROUNDS * BATCH);
  console.log(`A ${per("A").toFixed(1)} µs/call  B ${per("B").toFixed(1)} µs/call  B/A ${(per("B") / per("A")).toFixed(3)}`);
});
child?.kill();
process.exit(0);
