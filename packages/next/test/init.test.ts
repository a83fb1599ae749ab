import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

// The built bin, as `npx @tessera/next init` runs it: the tests need `npm run build` first.
const BIN = fileURLToPath(new URL("../dist/cli/init.js", import.meta.url));
const TEMPLATES = fileURLToPath(new URL("../templates/", import.meta.url));
const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Every file init writes, relative to the app's source root, spelt for TypeScript. */
const WRITTEN = [
  "lib/auth-paths.ts",
  "lib/auth.ts",
  "lib/auth-actions.ts",
  "lib/mail-token.ts",
  "lib/mail-token-cookie.ts",
  "proxy.ts",
  "components/auth-form.tsx",
  "app/api/auth/[...tessera]/route.ts",
  "app/login/page.tsx",
  "app/login/sign-in-form.tsx",
  "app/login/mfa/page.tsx",
  "app/login/mfa/mfa-form.tsx",
  "app/register/page.tsx",
  "app/register/sign-up-form.tsx",
  "app/forgot-password/page.tsx",
  "app/forgot-password/forgot-password-form.tsx",
  "app/reset-password/page.tsx",
  "app/reset-password/reset-password-form.tsx",
  "app/verify-email/page.tsx",
  "app/verify-email/verify-email-form.tsx",
  "app/account/page.tsx",
];

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build -w @tessera/next\` first`);
});

/** A temp copy of a fixture app (or an empty directory). */
function appFrom(fixture: "ts-app" | "js-src-app" | null): string {
  const dir = mkdtempSync(join(tmpdir(), "tessera-init-"));
  dirs.push(dir);
  if (fixture) cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  return dir;
}

function run(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file under `dir` with its content and mtime: what "writes nothing" compares. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), `${statSync(path).mtimeMs} ${readFileSync(path, "utf8")}`);
    }
  };
  walk(dir);
  return files;
}

function envKey(dir: string): string | undefined {
  return /^TESSERA_BFF_KEY=(.*)$/m.exec(readFileSync(join(dir, ".env.local"), "utf8"))?.[1];
}

/** The block a page that reads the request carries for cacheComponents (see the templates). */
const INSTANT = /\/\/ This page reads the request[\s\S]*?export const instant = false;\n\n?/;

/** What init writes for `path` into an app with cacheComponents off (the fixtures): the template without that block. */
function template(path: string): string {
  return readFileSync(join(TEMPLATES, path), "utf8").replace(INSTANT, "");
}

/** The pages that read the request, so block (`instant = false`) under cacheComponents. */
const BLOCKING_PAGES = ["app/login/page.tsx", "app/login/mfa/page.tsx", "app/register/page.tsx", "app/reset-password/page.tsx", "app/verify-email/page.tsx", "app/account/page.tsx"];

describe("npx @tessera/next init", () => {
  it("writes every template into a TypeScript app with app/, and .env.local with TESSERA_URL and a 256-bit key", () => {
    const dir = appFrom("ts-app");
    const { status, stdout } = run(dir, "init");
    expect(status).toBe(0);
    expect(stdout).toContain("TypeScript app, pages in app/, cacheComponents off");
    for (const path of WRITTEN) {
      expect(readFileSync(join(dir, path), "utf8"), path).toBe(template(path));
      expect(stdout).toMatch(new RegExp(`wrote +${path.replace(/[.[\]]/g, "\\$&")}\\n`));
    }
    expect(existsSync(join(dir, "src"))).toBe(false);
    const env = readFileSync(join(dir, ".env.local"), "utf8");
    expect(env).toMatch(/^TESSERA_URL=http:\/\/127\.0\.0\.1:4000$/m);
    expect(envKey(dir)).toMatch(/^[0-9a-f]{64}$/);
    // The BFF key is a secret: the new .env.local is its owner's only.
    expect(statSync(join(dir, ".env.local")).mode & 0o777).toBe(0o600);
    // The fixture's package.json lists the kit and its .gitignore has `.env*`: nothing to warn about.
    expect(stdout).not.toContain("Note:");
  });

  it("the template list is every file under templates/ (none forgotten, none extra)", () => {
    const shipped = [...snapshot(TEMPLATES).keys()].filter((path) => !path.startsWith("tsconfig")).sort();
    expect(shipped).toEqual([...WRITTEN].sort());
  });

  it("writes JavaScript under src/ for a JavaScript app with src/app/", () => {
    const dir = appFrom("js-src-app");
    const { status, stdout } = run(dir, "init");
    expect(status).toBe(0);
    expect(stdout).toContain("JavaScript app, pages in src/app/, cacheComponents off");
    for (const path of WRITTEN) {
      const js = `src/${path.replace(/\.ts$/, ".js").replace(/\.tsx$/, ".jsx")}`;
      const text = readFileSync(join(dir, js), "utf8");
      // Type syntax left in a .js file would not parse.
      expect(text, js).not.toMatch(/import type|: Promise<|: string\b|as const|interface /);
      expect(existsSync(join(dir, `src/${path}`)), path).toBe(false);
      expect(existsSync(join(dir, path)), path).toBe(false);
    }
    expect(readFileSync(join(dir, "src/app/login/sign-in-form.jsx"), "utf8")).toMatch(/^"use client";/);
    expect(readFileSync(join(dir, "src/lib/auth-actions.js"), "utf8")).toMatch(/^"use server";/);
    expect(envKey(dir)).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(join(dir, "src/.env.local"))).toBe(false);
    // This fixture neither lists the kit nor ignores .env files.
    expect(stdout).toContain("package.json does not list @tessera/next");
    expect(stdout).toContain(".gitignore does not ignore .env.local");
  });

  it("writes `export const instant = false` into the pages that read the request only when next.config turns cacheComponents on", () => {
    const off = appFrom("ts-app");
    run(off, "init");
    for (const page of BLOCKING_PAGES) expect(readFileSync(join(off, page), "utf8"), page).not.toContain("instant");
    // The block is there to take out: a template without it would pass the line above vacuously.
    for (const page of BLOCKING_PAGES) expect(readFileSync(join(TEMPLATES, page), "utf8"), page).toMatch(INSTANT);

    const on = appFrom("ts-app");
    writeFileSync(join(on, "next.config.ts"), 'import type { NextConfig } from "next";\n\nconst nextConfig: NextConfig = {\n  cacheComponents: true,\n};\n\nexport default nextConfig;\n');
    const { stdout } = run(on, "init");
    expect(stdout).toContain("cacheComponents on");
    for (const page of BLOCKING_PAGES) {
      expect(readFileSync(join(on, page), "utf8"), page).toBe(readFileSync(join(TEMPLATES, page), "utf8"));
      expect(readFileSync(join(on, page), "utf8"), page).toMatch(/^export const instant = false;$/m);
    }
    expect(readFileSync(join(on, "app/forgot-password/page.tsx"), "utf8")).not.toContain("instant");

    const js = appFrom("js-src-app");
    writeFileSync(join(js, "next.config.mjs"), "const nextConfig = { cacheComponents: true };\nexport default nextConfig;\n");
    run(js, "init");
    expect(readFileSync(join(js, "src/app/account/page.jsx"), "utf8")).toMatch(/^export const instant = false;$/m);
    expect(readFileSync(join(js, "src/app/login/page.jsx"), "utf8")).toMatch(/^export const instant = false;$/m);
  });

  it("prints the one command that starts tessera with the key in .env.local", () => {
    const dir = appFrom("ts-app");
    const { stdout } = run(dir, "init");
    const key = envKey(dir);
    expect(stdout).toContain(`  TESSERA_BFF_KEY=${key} TESSERA_PUBLIC_ORIGIN=http://localhost:3000 tessera serve\n`);
  });

  it("generates a fresh key for every app", () => {
    const first = appFrom("ts-app");
    const second = appFrom("ts-app");
    run(first, "init");
    run(second, "init");
    expect(envKey(first)).toMatch(/^[0-9a-f]{64}$/);
    expect(envKey(first)).not.toBe(envKey(second));
  });

  it("keeps the key of an existing .env.local and prints it in the command", () => {
    const dir = appFrom("ts-app");
    const env = "OTHER=1\nTESSERA_URL=http://127.0.0.1:4100\nTESSERA_BFF_KEY=\"existing-key-0123456789\"\n";
    writeFileSync(join(dir, ".env.local"), env);
    const { stdout } = run(dir, "init");
    expect(readFileSync(join(dir, ".env.local"), "utf8")).toBe(env);
    expect(stdout).toMatch(/unchanged +\.env\.local/);
    expect(stdout).toContain("TESSERA_BFF_KEY=existing-key-0123456789 TESSERA_PUBLIC_ORIGIN=");
  });

  it("is idempotent: a second run writes nothing and says so", () => {
    const dir = appFrom("ts-app");
    expect(run(dir, "init").stdout).not.toContain("Nothing written");
    const before = snapshot(dir);
    const { status, stdout } = run(dir, "init");
    expect(status).toBe(0);
    expect(snapshot(dir)).toEqual(before);
    expect(stdout).toContain("Nothing written: everything init writes is already there.");
    expect(stdout).not.toMatch(/wrote|skipped/);
    expect(stdout).toContain(`TESSERA_BFF_KEY=${envKey(dir)} `);
  });

  it("--dry-run writes nothing and prints what it would write", () => {
    const dir = appFrom("ts-app");
    const before = snapshot(dir);
    const { status, stdout } = run(dir, "init", "--dry-run");
    expect(status).toBe(0);
    expect(snapshot(dir)).toEqual(before);
    expect(stdout).toContain("dry run: nothing is written");
    for (const path of WRITTEN) expect(stdout).toContain(`would write     ${path}\n`);
    expect(stdout).toContain("would write     .env.local");
    // No key is shown that no file will hold.
    expect(stdout).toContain("TESSERA_BFF_KEY=<the key init writes to .env.local> ");
  });

  it("--dry-run --force overwrites nothing either", () => {
    const dir = appFrom("ts-app");
    mkdirSync(join(dir, "app/login"), { recursive: true });
    writeFileSync(join(dir, "app/login/page.tsx"), "export default function Mine() { return null; }\n");
    const before = snapshot(dir);
    const { stdout } = run(dir, "init", "--dry-run", "--force");
    expect(snapshot(dir)).toEqual(before);
    expect(stdout).toContain("would overwrite app/login/page.tsx");
  });

  it("skips existing files without --force, and says what to add to proxy.ts and .env.local by hand", () => {
    const dir = appFrom("ts-app");
    const mine = "export default function Mine() { return null; }\n";
    const myProxy = 'export function proxy() {}\n';
    const myEnv = "DATABASE_URL=postgres://x\n";
    mkdirSync(join(dir, "app/login"), { recursive: true });
    writeFileSync(join(dir, "app/login/page.tsx"), mine);
    writeFileSync(join(dir, "proxy.ts"), myProxy);
    writeFileSync(join(dir, ".env.local"), myEnv);
    const { status, stdout } = run(dir, "init");
    expect(status).toBe(0);
    expect(readFileSync(join(dir, "app/login/page.tsx"), "utf8")).toBe(mine);
    expect(readFileSync(join(dir, "proxy.ts"), "utf8")).toBe(myProxy);
    expect(readFileSync(join(dir, ".env.local"), "utf8")).toBe(myEnv);
    expect(stdout).toMatch(/skipped +app\/login\/page\.tsx \(exists and differs; --force overwrites it\)/);
    expect(stdout).toMatch(/skipped +proxy\.ts/);
    expect(stdout).toMatch(/skipped +\.env\.local/);
    // The files that did not exist are written all the same.
    expect(readFileSync(join(dir, "app/login/sign-in-form.tsx"), "utf8")).toBe(template("app/login/sign-in-form.tsx"));
    // The whole generated proxy, indented, to merge by hand.
    const proxyBody = template("proxy.ts").trimEnd().split("\n").map((l) => (l ? `    ${l}` : "")).join("\n");
    expect(stdout).toContain(proxyBody);
    // The lines .env.local lacks, with the key the printed command uses.
    const added = /^ {4}TESSERA_BFF_KEY=([0-9a-f]{64})$/m.exec(stdout)?.[1];
    expect(added).toBeDefined();
    expect(stdout).toMatch(/^ {4}TESSERA_URL=http:\/\/127\.0\.0\.1:4000$/m);
    expect(stdout).toContain(`  TESSERA_BFF_KEY=${added} TESSERA_PUBLIC_ORIGIN=`);
  });

  it("--force overwrites files that differ, and adds to .env.local only what it lacks", () => {
    const dir = appFrom("ts-app");
    mkdirSync(join(dir, "app/login"), { recursive: true });
    writeFileSync(join(dir, "app/login/page.tsx"), "export default function Mine() { return null; }\n");
    writeFileSync(join(dir, "proxy.ts"), "export function proxy() {}\n");
    writeFileSync(join(dir, ".env.local"), "DATABASE_URL=postgres://x\nTESSERA_URL=http://127.0.0.1:4100");
    const { status, stdout } = run(dir, "init", "--force");
    expect(status).toBe(0);
    expect(readFileSync(join(dir, "app/login/page.tsx"), "utf8")).toBe(template("app/login/page.tsx"));
    expect(readFileSync(join(dir, "proxy.ts"), "utf8")).toBe(template("proxy.ts"));
    expect(stdout).toMatch(/overwrote +app\/login\/page\.tsx/);
    const env = readFileSync(join(dir, ".env.local"), "utf8");
    // The app's own lines stay, TESSERA_URL keeps its value, the key is appended on a line of its own.
    expect(env.startsWith("DATABASE_URL=postgres://x\nTESSERA_URL=http://127.0.0.1:4100\n")).toBe(true);
    expect(env).not.toContain("127.0.0.1:4000");
    expect(envKey(dir)).toMatch(/^[0-9a-f]{64}$/);
    expect(stdout).toMatch(/added to +\.env\.local/);
    expect(stdout).toContain(`TESSERA_BFF_KEY=${envKey(dir)} TESSERA_PUBLIC_ORIGIN=`);
  });

  it("never writes next to another module of the same name, even with --force", () => {
    const dir = appFrom("ts-app");
    mkdirSync(join(dir, "app/login"), { recursive: true });
    writeFileSync(join(dir, "app/login/page.jsx"), "export default function Mine() { return null; }\n");
    writeFileSync(join(dir, "middleware.ts"), "export function middleware() {}\n");
    const { stdout } = run(dir, "init", "--force");
    expect(existsSync(join(dir, "app/login/page.tsx"))).toBe(false);
    expect(existsSync(join(dir, "proxy.ts"))).toBe(false);
    expect(stdout).toMatch(/skipped +app\/login\/page\.tsx \(app\/login\/page\.jsx exists\)/);
    expect(stdout).toMatch(/skipped +proxy\.ts \(middleware\.ts exists\)/);
    expect(stdout).toContain("merge this into yours");
  });

  it("refuses a directory without app/ or src/app/, writing nothing", () => {
    const dir = appFrom(null);
    const { status, stdout } = run(dir, "init");
    expect(status).toBe(1);
    expect(stdout).toContain("no app/ or src/app/ here");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("--help prints the usage; an unknown option or command is an error", () => {
    const dir = appFrom("ts-app");
    const before = snapshot(dir);
    const help = run(dir, "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npx @tessera\/next init \[--force\] \[--dry-run\]/);
    const unknown = run(dir, "init", "--forse");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown option "--forse"');
    const none = run(dir);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("no command given");
    expect(snapshot(dir)).toEqual(before);
  });
});
