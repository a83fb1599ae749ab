import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, start, stop, waitForHttp, waitForLine, type Started } from "../e2e/support/processes.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../..");

/**
 * Pinned: the test must not change when create-next-app does. Its flags
 * answer every question (no prompt), `--empty` gives a layout without
 * next/font/google (which would fetch fonts at build time), and
 * `--disable-git` keeps git out; it downloads nothing but npm packages.
 */
const CREATE_NEXT_APP = "create-next-app@16.4.3";
const CREATE_NEXT_APP_FLAGS = [
  "--ts",
  "--app",
  "--empty",
  "--no-tailwind",
  "--no-eslint",
  "--no-biome",
  "--no-src-dir",
  "--no-react-compiler",
  "--import-alias",
  "@/*",
  "--use-npm",
  "--skip-install",
  "--disable-git",
  "--no-agents-md",
  "--no-agent-feedback",
  "--yes",
];

/** Runs a command to completion and gives its stdout; fails with everything it printed. */
function capture(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { ...options, maxBuffer: 32 * 1024 * 1024, timeout: 10 * 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

/** How long each step took, printed at the end: the note in issue 20 asks for it. */
async function timed<T>(times: string[], name: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await step();
  times.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}

/**
 * The whole path of issue 20, as a new user takes it, in a fresh temp dir:
 * `npm pack` the kit (built already) → create-next-app → `npm install` the
 * tarball → `npx @tessera/next init` → `next build` → tessera (TESSERA_BIN)
 * with the BFF key init wrote into .env.local → `next start`. The app reads
 * its key from that .env.local; only TESSERA_URL is given in the environment
 * (which Next lets win over .env.local), because tessera runs on a free port
 * rather than the 4000 init assumed. Publishes INIT_BASE_URL and returns
 * the teardown.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = resolve(repoRoot, process.env.TESSERA_BIN ?? join(process.env.CARGO_TARGET_DIR ?? "target", "debug/tessera"));
  if (!existsSync(bin)) throw new Error(`tessera binary not found at ${bin}: build it or set TESSERA_BIN`);
  const work = await mkdtemp(join(tmpdir(), "tessera-init-path-"));
  const app = join(work, "app");
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
  // The app must take its key from .env.local, whatever the environment running this says.
  delete env.TESSERA_BFF_KEY;
  delete env.TESSERA_URL;
  const times: string[] = [];
  let tessera: Started | undefined;
  let next: Started | undefined;
  const teardown = async () => {
    await Promise.all([stop(next), stop(tessera)]);
    await rm(work, { recursive: true, force: true });
  };

  try {
    await timed(times, "npm pack", () => capture("npm", ["pack", "-w", "@tessera/next", "--pack-destination", work], { cwd: repoRoot, env }));
    const tarball = (await readdir(work)).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`npm pack left no tarball in ${work}`);
    await timed(times, "create-next-app", () => capture("npx", ["--yes", CREATE_NEXT_APP, "app", ...CREATE_NEXT_APP_FLAGS], { cwd: work, env }));
    await timed(times, "npm install", () => capture("npm", ["install", join(work, tarball)], { cwd: app, env }));
    // --no: the kit just installed, never a copy from the registry.
    const said = await timed(times, "init", () => capture("npx", ["--no", "@tessera/next", "init"], { cwd: app, env }));
    const key = /^TESSERA_BFF_KEY=([0-9a-f]{64})$/m.exec(await readFile(join(app, ".env.local"), "utf8"))?.[1];
    if (!key) throw new Error(`init wrote no 256-bit TESSERA_BFF_KEY into .env.local:\n${said}`);
    if (!said.includes(`TESSERA_BFF_KEY=${key} TESSERA_PUBLIC_ORIGIN=http://localhost:3000 tessera serve`)) {
      throw new Error(`init did not print the command that starts tessera with its key:\n${said}`);
    }
    await timed(times, "next build", () => capture("npm", ["run", "build"], { cwd: app, env }));

    const port = await freePort();
    const origin = `http://localhost:${port}`;
    tessera = start(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", join(work, "data")], {
      env: {
        ...env,
        TESSERA_BFF_KEY: key,
        TESSERA_PUBLIC_ORIGIN: origin,
        TESSERA_LOG: process.env.TESSERA_LOG ?? "warn",
        TESSERA_ARGON2_M_COST: "1024",
        TESSERA_ARGON2_T_COST: "1",
      },
    });
    const [, tesseraUrl] = await waitForLine(tessera, /^tessera listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/, 30_000);
    if (!tesseraUrl) throw new Error("could not parse the tessera address");
    const nextBin = join(app, "node_modules/next/dist/bin/next");
    next = start(process.execPath, [nextBin, "start", "--port", String(port), "--hostname", "127.0.0.1"], {
      cwd: app,
      env: { ...env, NODE_ENV: "production", TESSERA_URL: tesseraUrl },
    });
    await timed(times, "next start", () => waitForHttp(`http://127.0.0.1:${port}/`, next as Started, 60_000));
    process.stdout.write(`\nwhole path set up: ${times.join(", ")}\n`);
    process.env.INIT_BASE_URL = origin;
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
