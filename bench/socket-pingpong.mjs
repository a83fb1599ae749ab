// What one request/answer round trip between two processes costs over
// loopback TCP against a Unix socket (docs/performance.md, "A fifth host"):
// a request of about 110 bytes, an answer of about 340, one in flight.
//
//   taskset -c 0 node bench/socket-pingpong.mjs tcp|unix server &
//   taskset -c 0 node bench/socket-pingpong.mjs tcp|unix client [ROUND_TRIPS]
//
// The client prints its CPU and the wall time per round trip.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const [mode, role, count = "50000"] = process.argv.slice(2);
if (!["tcp", "unix"].includes(mode) || !["server", "client"].includes(role)) {
  console.error("usage: node bench/socket-pingpong.mjs tcp|unix server|client [ROUND_TRIPS]");
  process.exit(2);
}
const socketPath = path.join(os.tmpdir(), "tessera-pingpong.sock");
const address = mode === "unix" ? { path: socketPath } : { host: "127.0.0.1", port: 47123 };
const REQUEST = Buffer.from(`GET /v1/session HTTP/1.1\r\nhost: x\r\ncookie: ${"a".repeat(60)}\r\n\r\n`);
const ANSWER = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: 300\r\n\r\n${"b".repeat(300)}`);

if (role === "server") {
  if (mode === "unix") fs.rmSync(socketPath, { force: true });
  net
    .createServer((socket) => {
      socket.setNoDelay(true);
      socket.on("data", () => socket.write(ANSWER));
    })
    .listen(address, () => console.log("listening"));
} else {
  const total = Number(count);
  let left = total;
  const socket = net.connect(address);
  socket.setNoDelay(true);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  socket.on("connect", () => socket.write(REQUEST));
  socket.on("data", () => {
    if (--left > 0) return void socket.write(REQUEST);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - wall0;
    console.log(`${mode}: client CPU ${((cpu.user + cpu.system) / total).toFixed(1)} µs, wall ${((wall * 1000) / total).toFixed(1)} µs per round trip`);
    socket.end();
  });
}
