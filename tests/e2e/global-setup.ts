import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, run, start, stop, waitForHttp, waitForLine, type Started } from "./support/processes.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../..");
const demoDir = join(repoRoot, "examples/next-demo");

/**
 * Starts a real tessera server (fresh SQLite data dir, free port) and the demo
 * (`next build` + `next start`, free port, public origin http://localhost:PORT),
 * publishes their URLs to the tests through the environment, and returns the
 * teardown. Set TESSERA_E2E_SKIP_BUILD=1 when the demo was just built.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = resolve(repoRoot, process.env.TESSERA_BIN ?? join(process.env.CARGO_TARGET_DIR ?? "target", "debug/tessera"));
  if (!existsSync(bin)) throw new Error(`tessera binary not found at ${bin}: build it or set TESSERA_BIN`);

  const dataDir = await mkdtemp(join(tmpdir(), "tessera-e2e-"));
  const demoPort = await freePort();
  const origin = `http://localhost:${demoPort}`;
  const bffKey = randomBytes(32).toString("base64url");
  let tessera: Started | undefined;
  let demo: Started | undefined;
  const teardown = async () => {
    await Promise.all([stop(demo), stop(tessera)]);
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    tessera = start(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], {
      env: {
        ...process.env,
        TESSERA_PUBLIC_ORIGIN: origin,
        TESSERA_BFF_KEY: bffKey,
        TESSERA_LOG: process.env.TESSERA_LOG ?? "warn",
        TESSERA_ARGON2_M_COST: "1024",
        TESSERA_ARGON2_T_COST: "1",
        TESSERA_LOGIN_MAX_FAILURES_PER_IP: "1000",
      },
    });
    const [, tesseraUrl] = await waitForLine(tessera, /^tessera listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/, 30_000);
    if (!tesseraUrl) throw new Error("could not parse the tessera address");

    const nextBin = createRequire(join(demoDir, "package.json")).resolve("next/dist/bin/next");
    const nextEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" as const };
    if (process.env.TESSERA_E2E_SKIP_BUILD !== "1") await run(process.execPath, [nextBin, "build"], { cwd: demoDir, env: nextEnv });
    demo = start(process.execPath, [nextBin, "start", "--port", String(demoPort), "--hostname", "127.0.0.1"], {
      cwd: demoDir,
      // Trust X-Forwarded-For as if a proxy sat in front, so the Tessera-Client-Ip path is exercised.
      env: { ...nextEnv, TESSERA_URL: tesseraUrl, TESSERA_BFF_KEY: bffKey, APP_ORIGIN: origin, TRUSTED_IP_HEADER: "x-forwarded-for" },
    });
    await waitForHttp(`${origin}/`, demo, 60_000);

    process.env.E2E_BASE_URL = origin;
    process.env.E2E_TESSERA_URL = tesseraUrl;
    process.env.E2E_BFF_KEY = bffKey;
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
