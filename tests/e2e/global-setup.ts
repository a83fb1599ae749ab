import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startAppendingProxy, type AppendingProxy } from "./support/appending-proxy.js";
import { startMailServer, type MailServer } from "./support/mail-server.js";
import { freePort, run, start, stop, waitForHttp, waitForLine, type Started } from "./support/processes.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../..");
const demoDir = join(repoRoot, "examples/next-demo");
const oidcProviderScript = join(repoRoot, "tests/oidc-provider/server.mjs");

/** The test provider's client, passed explicitly to it and to tessera. */
const OIDC_CLIENT_ID = "tessera-test";
const OIDC_CLIENT_SECRET = "tessera-test-secret";

/**
 * Starts a real tessera server (fresh SQLite data dir, free port), the demo
 * (`next build` + `next start` on 127.0.0.1, free port) and in front of it a
 * tiny reverse proxy that appends the socket address to X-Forwarded-For, as
 * a production proxy does (public origin http://localhost:PROXY_PORT). That
 * demo is configured for its one proxy (TRUSTED_IP_HEADER=x-forwarded-for,
 * TRUSTED_PROXY_COUNT=1), so the client IP is the entry the proxy appended
 * and what a browser claims in that header is never believed. A second
 * `next start` of the same build runs the demo as shipped (no client-IP
 * settings: no forwarded header trusted, no client IP sent), facing clients
 * directly (E2E_SHIPPED_URL). Before tessera it starts the local test OIDC
 * provider (tests/oidc-provider, a real `oidc-provider` with its dev login
 * and consent pages), configured in tessera and the demo as provider
 * `acme`. Publishes the URLs to the tests through the environment
 * (E2E_DIRECT_URL is the proxied demo's `next start` itself, without the
 * proxy; E2E_OIDC_URL the provider's issuer) and returns the teardown. Set
 * TESSERA_E2E_SKIP_BUILD=1 when the demo was just built.
 *
 * tessera sends its mail (verification, password reset, email change) by
 * SMTP to a real SMTP server started here (support/mail-server.ts) that
 * stores each message in E2E_MAIL_DIR for the specs to read. Neither demo
 * has TESSERA_DEV_OUTBOX, so /dev/outbox is a 404 as in production.
 * The binary and the data dir are published too (E2E_TESSERA_BIN,
 * E2E_DATA_DIR), for specs that run `tessera user …` as an operator would.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = resolve(repoRoot, process.env.TESSERA_BIN ?? join(process.env.CARGO_TARGET_DIR ?? "target", "debug/tessera"));
  if (!existsSync(bin)) throw new Error(`tessera binary not found at ${bin}: build it or set TESSERA_BIN`);

  const dataDir = await mkdtemp(join(tmpdir(), "tessera-e2e-"));
  const mailDir = await mkdtemp(join(tmpdir(), "tessera-e2e-mail-"));
  const demoPort = await freePort();
  const shippedPort = await freePort();
  const proxyPort = await freePort();
  const origin = `http://localhost:${proxyPort}`;
  const bffKey = randomBytes(32).toString("base64url");
  let oidc: Started | undefined;
  let tessera: Started | undefined;
  let demo: Started | undefined;
  let shipped: Started | undefined;
  let proxy: AppendingProxy | undefined;
  let mail: MailServer | undefined;
  const teardown = async () => {
    await proxy?.close();
    await Promise.all([stop(demo), stop(shipped), stop(tessera), stop(oidc)]);
    await mail?.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(mailDir, { recursive: true, force: true });
  };

  try {
    oidc = start(process.execPath, [oidcProviderScript], {
      env: {
        ...process.env,
        OIDC_PORT: "0",
        OIDC_INTERACTIVE: "1",
        OIDC_CLIENT_ID,
        OIDC_CLIENT_SECRET,
        OIDC_REDIRECT_URIS: `${origin}/api/auth/oauth/acme/callback`,
      },
    });
    const [, oidcUrl] = await waitForLine(oidc, /^oidc-provider listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/, 30_000);
    if (!oidcUrl) throw new Error("could not parse the OIDC provider's address");

    mail = await startMailServer(mailDir);

    tessera = start(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], {
      env: {
        ...process.env,
        TESSERA_OAUTH_PROVIDERS: "acme",
        TESSERA_OAUTH_ACME_ISSUER: oidcUrl,
        TESSERA_OAUTH_ACME_CLIENT_ID: OIDC_CLIENT_ID,
        TESSERA_OAUTH_ACME_CLIENT_SECRET: OIDC_CLIENT_SECRET,
        TESSERA_PUBLIC_ORIGIN: origin,
        TESSERA_BFF_KEY: bffKey,
        TESSERA_LOG: process.env.TESSERA_LOG ?? "warn",
        TESSERA_ARGON2_M_COST: "1024",
        TESSERA_ARGON2_T_COST: "1",
        // tessera's default: client-ip.spec.ts shows that 101 failures "from" a
        // spoofed address lock nobody out, which needs the real limit.
        TESSERA_LOGIN_MAX_FAILURES_PER_IP: "100",
        // Every spec registers from the same loopback address.
        TESSERA_REGISTER_MAX_PER_IP: "100000",
        TESSERA_SMTP_URL: `smtp+insecure://127.0.0.1:${mail.port}`,
        TESSERA_MAIL_FROM: "Tessera e2e <no-reply@tessera.test>",
        TESSERA_APP_NAME: "Tessera e2e",
      },
    });
    const [, tesseraUrl] = await waitForLine(tessera, /^tessera listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/, 30_000);
    if (!tesseraUrl) throw new Error("could not parse the tessera address");

    const nextBin = createRequire(join(demoDir, "package.json")).resolve("next/dist/bin/next");
    const nextEnv: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" };
    // Whatever the environment running these tests says: the outbox page must be a 404 here.
    delete nextEnv.TESSERA_DEV_OUTBOX;
    if (process.env.TESSERA_E2E_SKIP_BUILD !== "1") await run(process.execPath, [nextBin, "build"], { cwd: demoDir, env: nextEnv });
    const demoEnv = { ...nextEnv, TESSERA_URL: tesseraUrl, TESSERA_BFF_KEY: bffKey, APP_ORIGIN: origin, TESSERA_OAUTH_PROVIDERS: "acme" };
    // Behind the appending proxy: its entry, the last one, is the client IP.
    demo = start(process.execPath, [nextBin, "start", "--port", String(demoPort), "--hostname", "127.0.0.1"], {
      cwd: demoDir,
      env: { ...demoEnv, TRUSTED_IP_HEADER: "x-forwarded-for", TRUSTED_PROXY_COUNT: "1" },
    });
    // As shipped: whatever the environment running these tests says, no client-IP settings.
    const shippedEnv: NodeJS.ProcessEnv = { ...demoEnv };
    delete shippedEnv.TRUSTED_IP_HEADER;
    delete shippedEnv.TRUSTED_PROXY_COUNT;
    shipped = start(process.execPath, [nextBin, "start", "--port", String(shippedPort), "--hostname", "127.0.0.1"], { cwd: demoDir, env: shippedEnv });
    const direct = `http://127.0.0.1:${demoPort}`;
    const shippedUrl = `http://127.0.0.1:${shippedPort}`;
    await Promise.all([waitForHttp(`${direct}/`, demo, 60_000), waitForHttp(`${shippedUrl}/`, shipped, 60_000)]);
    proxy = await startAppendingProxy({ host: "127.0.0.1", port: proxyPort }, { host: "127.0.0.1", port: demoPort });

    process.env.E2E_BASE_URL = origin;
    process.env.E2E_DIRECT_URL = direct;
    process.env.E2E_SHIPPED_URL = shippedUrl;
    process.env.E2E_TESSERA_URL = tesseraUrl;
    process.env.E2E_BFF_KEY = bffKey;
    process.env.E2E_OIDC_URL = oidcUrl;
    process.env.E2E_MAIL_DIR = mailDir;
    // For the specs that run the tessera command line against the same
    // database (support/tessera.ts, tesseraCli).
    process.env.E2E_TESSERA_BIN = bin;
    process.env.E2E_DATA_DIR = dataDir;
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
