// express + express-session + connect-redis (node-redis client), set up as
// connect-redis's README shows, for the "peers" scenario of the benchmarks
// (bench/scenarios/20-peers.sh).
//
//   POST /login       puts {id, email} in a new session (no password check:
//                     only the session check is measured), sets connect.sid
//   GET  /v1/session  the session's user as JSON, 401 without a session
//
// What one GET /v1/session with a valid cookie does (express-session 1.19,
// connect-redis 10, defaults: resave false, saveUninitialized false, no
// rolling, touch enabled):
//   1. unsigns the connect.sid cookie (HMAC-SHA-256, cookie-signature);
//   2. Redis GET sess:<id>, JSON.parse;
//   3. after the response, since the session was not modified: store.touch,
//      i.e. Redis EXPIRE sess:<id> <ttl> (connect-redis's default; it can be
//      turned off with disableTouch, which is not the default).
// No database.
//
// Usage: node express-session.mjs [PORT]   (or PORT=…)
// Env: REDIS_URL (redis://127.0.0.1:6379), SESSION_SECRET (a fixed
// bench-only default). Prints "express-session listening on
// http://127.0.0.1:PORT" when ready.
import express from "express";
import session from "express-session";
import { RedisStore } from "connect-redis";
import { createClient } from "redis";

const port = Number(process.argv[2] || process.env.PORT || 3001);
const redisClient = createClient({ url: process.env.REDIS_URL || "redis://127.0.0.1:6379" });
redisClient.on("error", (err) => console.error("redis:", err));
await redisClient.connect();

const app = express();
app.disable("x-powered-by");
app.use(
  session({
    store: new RedisStore({ client: redisClient, prefix: "bench-express-sess:" }),
    secret: process.env.SESSION_SECRET || "tessera-bench-only-secret-not-for-production",
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: "lax", maxAge: 7 * 24 * 3600 * 1000 },
  }),
);

app.post("/login", express.json(), (req, res, next) => {
  const email = typeof req.body?.email === "string" ? req.body.email : "bench@example.com";
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = { id: `user-${email}`, email };
    res.json(req.session.user);
  });
});

app.get("/v1/session", (req, res) => {
  if (!req.session.user) return res.status(401).json({ error: "unauthenticated" });
  res.json(req.session.user);
});

const server = app.listen(port, "127.0.0.1", () => {
  console.log(`express-session listening on http://127.0.0.1:${port}`);
});
server.keepAliveTimeout = 65_000;

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    redisClient.destroy();
    setTimeout(() => process.exit(0), 200).unref();
  });
}
