// Better Auth, set up as its docs recommend for sessions in Redis, for the
// "peers" scenario of the benchmarks (bench/scenarios/20-peers.sh):
//
//   - database: a pg Pool on PostgreSQL (users, accounts; Better Auth's own
//     schema, applied here at start with its programmatic migration API);
//   - secondaryStorage: the official `@better-auth/redis-storage` (ioredis),
//     i.e. get/set/delete (+ getAndDelete, increment) on Redis;
//   - emailAndPassword enabled; served with its Node handler `toNodeHandler`
//     on plain node:http.
//
// What one getSession (GET /api/auth/get-session with the session cookie)
// does here, read from better-auth 1.7.25's source (api/routes/session.mjs,
// db/internal-adapter.mjs `findSession`):
//   1. verifies the signed session cookie (HMAC-SHA-256 over the token);
//   2. Redis GET better-auth:<token>  -> {session, user} as JSON;
//   3. Redis GET better-auth:revoked-sessions-before-<userId> (revocation
//      watermark; "isRevokedSession");
//   4. no database query: with secondaryStorage and the default
//      `session.storeSessionInDatabase: false` sessions live in Redis only,
//      and the user is stored with the session. (The scenario checks this:
//      counts PostgreSQL pool checkouts during the run: SIGUSR2 below.)
//   5. no write: the session is fresh, so no refresh (updateAge, 1 day).
// The cookie cache (`session.cookieCache`) is off: it is off by default and
// the recommended Redis set-up does not turn it on. With it on, getSession
// would not touch Redis at all while the signed cookie is fresh.
//
// Rate limiting: with NODE_ENV=production (as the scenario runs it) Better
// Auth's limiter is on by default, 100 requests / 10 s per IP and path, in
// secondary storage (one Redis EVAL INCR per request). A benchmark from one
// address would be all 429s, and tessera does not rate-limit whoami, so
// /get-session is exempted (`customRules`); sign-up and sign-in keep theirs.
// That spares Better Auth a Redis round trip per request: the comparison is,
// if anything, generous to it.
//
// Usage: node better-auth.mjs [PORT]   (or PORT=…)
// Env: REDIS_URL (redis://127.0.0.1:6379), DATABASE_URL
// (postgres://postgres@127.0.0.1:5432/bench_better_auth; created if absent),
// BETTER_AUTH_SECRET (a fixed bench-only default).
// Prints "better-auth listening on http://127.0.0.1:PORT" when ready.
import http from "node:http";
import pg from "pg";
import { Redis } from "ioredis";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";
import { redisStorage } from "@better-auth/redis-storage";

const port = Number(process.argv[2] || process.env.PORT || 3000);
const redisUrl = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const databaseUrl =
  process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/bench_better_auth";

await ensureDatabase(databaseUrl);

const pool = new pg.Pool({ connectionString: databaseUrl });
// Counts every PostgreSQL connection checkout (every query or transaction
// Better Auth runs); SIGUSR2 prints the count, so the scenario can show
// that getSession does not touch the database.
let pgCheckouts = 0;
pool.on("acquire", () => pgCheckouts++);
process.on("SIGUSR2", () => console.log(`pg pool checkouts: ${pgCheckouts}`));
const redis = new Redis(redisUrl);

const options = {
  baseURL: `http://127.0.0.1:${port}`,
  secret: process.env.BETTER_AUTH_SECRET || "tessera-bench-only-secret-not-for-production-0123456789",
  database: pool,
  secondaryStorage: redisStorage({ client: redis }),
  emailAndPassword: { enabled: true },
  rateLimit: { customRules: { "/get-session": false } },
  telemetry: { enabled: false },
};

// Better Auth's schema (user, account, verification; no session table while
// sessions live in secondary storage), applied idempotently.
const { runMigrations } = await getMigrations(options);
await runMigrations();

const auth = betterAuth(options);
const server = http.createServer(toNodeHandler(auth));
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  console.log(`better-auth listening on http://127.0.0.1:${port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    redis.disconnect();
    pool.end().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}

async function ensureDatabase(url) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } catch (err) {
        if (err.code !== "42P04") throw err; // created meanwhile
      }
    }
  } finally {
    await client.end();
  }
}
