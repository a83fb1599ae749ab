#!/usr/bin/env node
/**
 * `npx @tessera/next init`: adds Tessera to an existing Next.js App Router
 * app in one command. It copies the kit's templates (packages/next/templates,
 * type-checked there; their JavaScript flavour is built into
 * dist/templates-js) and writes `.env.local` with a fresh BFF key, then
 * prints the one command that starts tessera with that key.
 *
 * It never overwrites a file without `--force`, and never a file of the
 * app's other than the one it would write (a `page.jsx` where it would write
 * `page.tsx` stays, and the template is skipped), so running it twice
 * changes nothing. Only Node's own modules: it runs from the packed tarball
 * with nothing else installed, and needs no network.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's root: this file is src/cli/init.ts, built to dist/cli/init.js. */
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The files init writes, relative to the app's source root (`src/` or the app root), spelt as in TypeScript. */
const TEMPLATE_FILES: readonly string[] = [
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

/** Where `tessera serve` listens by default. */
const DEFAULT_TESSERA_URL = "http://127.0.0.1:4000";

/** `next dev`'s origin, which is also tessera's default public origin. */
const DEFAULT_APP_ORIGIN = "http://localhost:3000";

/** Extensions a module of the app may have: one of them next to ours makes two modules for one import or route. */
const MODULE_EXTENSIONS = [".ts", ".tsx", ".js", ".jsx", ".mjs"];

const USAGE = `Usage: npx @tessera/next init [--force] [--dry-run]

Run in the root of a Next.js App Router app (app/ or src/app/). Writes, for
TypeScript (tsconfig.json present) or JavaScript:

  lib/auth.ts, lib/auth-paths.ts        the kit, configured from the environment
  lib/auth-actions.ts                   the reset-password action (the other
                                        forms post to @tessera/next/actions)
  lib/mail-token.ts, lib/mail-token-cookie.ts
                                        the token of a mailed link, kept out of URLs
  proxy.ts                              /account needs a session; mailed links
  app/api/auth/[...tessera]/route.ts    /api/auth/* forwarded to tessera
  app/login, app/login/mfa, app/register, app/forgot-password,
  app/reset-password, app/verify-email, app/account
                                        the pages; components/auth-form.tsx
  .env.local                            TESSERA_URL and a fresh TESSERA_BFF_KEY

(under src/ when the app has src/app). Then it prints the command that starts
tessera with that key.

  --force     overwrite files that exist and differ (.env.local: only add
              the variables it lacks; a value there is never changed)
  --dry-run   print what would be written; write nothing
  --help      this text
`;

interface Options {
  force: boolean;
  dryRun: boolean;
}

type Parsed = { kind: "help" } | { kind: "init"; options: Options } | { kind: "error"; message: string };

function parseArgs(args: readonly string[]): Parsed {
  if (args.includes("--help") || args.includes("-h")) return { kind: "help" };
  const [command, ...flags] = args;
  if (command !== "init") return { kind: "error", message: command === undefined ? "no command given" : `unknown command ${JSON.stringify(command)}` };
  const options: Options = { force: false, dryRun: false };
  for (const flag of flags) {
    if (flag === "--force") options.force = true;
    else if (flag === "--dry-run") options.dryRun = true;
    else return { kind: "error", message: `unknown option ${JSON.stringify(flag)}` };
  }
  return { kind: "init", options };
}

interface App {
  root: string;
  typescript: boolean;
  /** "src/" or "": where app/ is, and so lib/, components/ and proxy go. */
  sourceDir: string;
  /** next.config turns `cacheComponents` on (create-next-app 16.4 does). */
  cacheComponents: boolean;
}

const NEXT_CONFIGS = ["next.config.ts", "next.config.mts", "next.config.js", "next.config.mjs", "next.config.cjs"];

/**
 * Whether the app's next.config sets `cacheComponents: true`. Read as text,
 * not run: a config that computes it is read as off, and `next build` then
 * names the page to add `export const instant = false` to.
 */
function cacheComponentsOn(root: string): boolean {
  return NEXT_CONFIGS.some((name) => {
    const file = join(root, name);
    return existsSync(file) && /\bcacheComponents\s*:\s*true\b/.test(readFileSync(file, "utf8"));
  });
}

/**
 * The pages that read the request say `export const instant = false` (they
 * block, so their forms work without JavaScript), which Next demands with
 * cacheComponents and refuses without it: the line and its comment go when
 * the app has cacheComponents off.
 */
const INSTANT_BLOCK = /\/\/ This page reads the request[\s\S]*?export const instant = false;\n\n?/;

function detectApp(root: string): App | string {
  const sourceDir = existsSync(join(root, "src/app")) ? "src/" : existsSync(join(root, "app")) ? "" : undefined;
  if (sourceDir === undefined) {
    return `no app/ or src/app/ here (${root}): run init in the root of a Next.js App Router app`;
  }
  return { root, typescript: existsSync(join(root, "tsconfig.json")), sourceDir, cacheComponents: cacheComponentsOn(root) };
}

/** The template's path as the app spells it: `.ts` → `.js`, `.tsx` → `.jsx` for JavaScript. */
function appPath(app: App, template: string): string {
  const spelt = app.typescript ? template : template.replace(/\.ts$/, ".js").replace(/\.tsx$/, ".jsx");
  return `${app.sourceDir}${spelt}`;
}

function templateText(app: App, template: string): string {
  const file = app.typescript ? join(PACKAGE_ROOT, "templates", template) : join(PACKAGE_ROOT, "dist/templates-js", appPath({ ...app, sourceDir: "" }, template));
  const text = readFileSync(file, "utf8");
  return app.cacheComponents ? text : text.replace(INSTANT_BLOCK, "");
}

/** Another module where ours would go (`page.jsx` for `page.tsx`; `middleware.ts` for `proxy.ts`), if any. */
function rivalFile(app: App, path: string): string | undefined {
  const stem = path.replace(/\.[^./]+$/, "");
  const stems = stem === `${app.sourceDir}proxy` ? [stem, `${app.sourceDir}middleware`] : [stem];
  for (const candidate of stems.flatMap((s) => MODULE_EXTENSIONS.map((extension) => `${s}${extension}`))) {
    if (candidate !== path && existsSync(join(app.root, candidate))) return candidate;
  }
  return undefined;
}

type Outcome = "write" | "overwrite" | "unchanged" | "skip";

interface Planned {
  path: string;
  text: string;
  outcome: Outcome;
  /** Why a file was skipped. */
  reason?: string;
}

function plan(app: App, template: string, force: boolean): Planned {
  const path = appPath(app, template);
  const text = templateText(app, template);
  const rival = rivalFile(app, path);
  if (rival !== undefined) return { path, text, outcome: "skip", reason: `${rival} exists` };
  const target = join(app.root, path);
  if (!existsSync(target)) return { path, text, outcome: "write" };
  if (readFileSync(target, "utf8") === text) return { path, text, outcome: "unchanged" };
  return force ? { path, text, outcome: "overwrite" } : { path, text, outcome: "skip", reason: "exists and differs; --force overwrites it" };
}

/** `NAME=value` lines of a dotenv file (`export` and quotes allowed), last one wins as in Next's loader. */
function parseDotenv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1]) continue;
    const raw = match[2] ?? "";
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    values.set(match[1], quoted?.[2] ?? raw.replace(/\s+#.*$/, ""));
  }
  return values;
}

/** 256 bits from the OS CSPRNG, hex: what `tessera init` writes too, and safe unquoted in a shell and a dotenv file. */
function freshKey(): string {
  return randomBytes(32).toString("hex");
}

function envLines(variables: ReadonlyMap<string, string>): string {
  const comments: Record<string, string> = {
    TESSERA_URL: "# The tessera server this app talks to (where `tessera serve` listens by default).",
    TESSERA_BFF_KEY: "# The key this app and tessera share (tessera's TESSERA_BFF_KEY): 256 random bits.",
  };
  return [...variables].map(([name, value]) => `${comments[name] ?? ""}\n${name}=${value}\n`).join("");
}

interface EnvPlan {
  path: string;
  outcome: "write" | "add" | "unchanged" | "skip";
  /** The whole file (write) or the lines to append (add, skip). */
  text: string;
  /** The BFF key tessera must be started with, as it is or will be in .env.local. */
  key: string;
  /** The key in the command is not in .env.local and will not be (dry run, or skipped). */
  keyPending: boolean;
}

function planEnv(app: App, force: boolean, dryRun: boolean): EnvPlan {
  const path = ".env.local";
  const target = join(app.root, path);
  if (!existsSync(target)) {
    const key = freshKey();
    const text = `# Written by \`npx @tessera/next init\`. Secrets: keep this file out of git.\n${envLines(new Map([["TESSERA_URL", DEFAULT_TESSERA_URL], ["TESSERA_BFF_KEY", key]]))}`;
    return { path, outcome: "write", text, key, keyPending: dryRun };
  }
  const existing = parseDotenv(readFileSync(target, "utf8"));
  const missing = new Map<string, string>();
  if (!existing.has("TESSERA_URL")) missing.set("TESSERA_URL", DEFAULT_TESSERA_URL);
  const present = existing.get("TESSERA_BFF_KEY");
  const key = present || freshKey();
  if (!present) missing.set("TESSERA_BFF_KEY", key);
  if (missing.size === 0) return { path, outcome: "unchanged", text: "", key, keyPending: false };
  return { path, outcome: force ? "add" : "skip", text: envLines(missing), key, keyPending: !present && (dryRun || !force) };
}

const VERB: Record<Outcome | EnvPlan["outcome"], [done: string, dry: string]> = {
  write: ["wrote", "would write"],
  overwrite: ["overwrote", "would overwrite"],
  add: ["added to", "would add to"],
  unchanged: ["unchanged", "unchanged"],
  skip: ["skipped", "skipped"],
};

function line(outcome: Outcome | EnvPlan["outcome"], path: string, dryRun: boolean, reason?: string): string {
  const verb = VERB[outcome][dryRun ? 1 : 0];
  return `  ${verb.padEnd(16)}${path}${reason ? ` (${reason})` : ""}`;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => (l ? `    ${l}` : ""))
    .join("\n");
}

/**
 * Writes (or appends to) `path`. `mode` applies when the file is created:
 * .env.local holds the BFF key, so it is made readable by its owner only
 * (an existing file keeps the mode its owner gave it).
 */
function writeFile(root: string, path: string, text: string, append = false, mode = 0o644): void {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  if (append) {
    const before = readFileSync(target, "utf8");
    writeFileSync(target, `${before}${before === "" || before.endsWith("\n") ? "" : "\n"}${text}`);
  } else {
    writeFileSync(target, text, { mode });
  }
}

/** Runs init in `root`; returns the exit code. Everything it says goes to `out`. */
function init(root: string, options: Options, out: (text: string) => void): number {
  const app = detectApp(root);
  if (typeof app === "string") {
    out(`@tessera/next init: ${app}\n`);
    return 1;
  }
  const files = TEMPLATE_FILES.map((template) => plan(app, template, options.force));
  const env = planEnv(app, options.force, options.dryRun);
  const lines = [
    `@tessera/next init${options.dryRun ? " (dry run: nothing is written)" : ""}: ${app.typescript ? "TypeScript" : "JavaScript"} app, pages in ${app.sourceDir}app/, cacheComponents ${app.cacheComponents ? "on" : "off"}`,
    "",
  ];
  for (const file of files) {
    lines.push(line(file.outcome, file.path, options.dryRun, file.reason));
    if (!options.dryRun && (file.outcome === "write" || file.outcome === "overwrite")) writeFile(root, file.path, file.text);
  }
  const envReason = env.outcome === "skip" ? "exists; add the lines below by hand, or run with --force to append them" : undefined;
  lines.push(line(env.outcome, env.path, options.dryRun, envReason));
  if (!options.dryRun && (env.outcome === "write" || env.outcome === "add")) writeFile(root, env.path, env.text, env.outcome === "add", 0o600);

  const changed = files.some((f) => f.outcome === "write" || f.outcome === "overwrite") || env.outcome === "write" || env.outcome === "add";
  if (!changed) lines.push("", options.dryRun ? "Nothing would be written: everything init writes is already there." : "Nothing written: everything init writes is already there.");

  const proxy = files.find((f) => f.path === appPath(app, "proxy.ts"));
  if (proxy?.outcome === "skip") {
    lines.push(
      "",
      `${proxy.reason ?? "proxy exists"}, so ${proxy.path} was not written. Next runs one proxy: merge this into yours`,
      "(its `proxy` function, the two helpers it calls and `config.matcher`; imports are relative to the proxy file):",
      "",
      indent(proxy.text),
    );
  }
  if (env.outcome === "skip") lines.push("", "Add to .env.local:", "", indent(env.text));
  const others = files.filter((f) => f.outcome === "skip" && f !== proxy);
  if (others.length > 0) lines.push("", `${others.length} file(s) skipped: the pages that import them may not match yours; --force overwrites a file that differs.`);

  lines.push(...warnings(app));
  lines.push(
    "",
    env.keyPending ? "Start tessera with the BFF key init generated (put it in .env.local as above):" : "Start tessera with the app's BFF key (TESSERA_BFF_KEY in .env.local):",
    "",
    // A dry run's key is thrown away: the real run generates another.
    `  TESSERA_BFF_KEY=${options.dryRun && env.keyPending && env.outcome !== "skip" ? "<the key init writes to .env.local>" : env.key} TESSERA_PUBLIC_ORIGIN=${DEFAULT_APP_ORIGIN} tessera serve`,
    "",
    "(it keeps its SQLite database in ./data: start it outside the app's folder, or add --data-dir DIR)",
    `then run the app (\`npm run dev\`) and open ${DEFAULT_APP_ORIGIN}/account.`,
    "",
  );
  out(lines.join("\n"));
  return 0;
}

/** Things init does not change but the app needs: the kit as a dependency, .env.local out of git. */
function warnings(app: App): string[] {
  const notes: string[] = [];
  const manifest = join(app.root, "package.json");
  if (existsSync(manifest)) {
    const text = readFileSync(manifest, "utf8");
    if (!/"@tessera\/next"\s*:/.test(text)) notes.push("package.json does not list @tessera/next: install it (`npm install @tessera/next`), the files above import it.");
  }
  const gitignore = join(app.root, ".gitignore");
  if (!existsSync(gitignore) || !/^\s*\/?(\.env(\*|\.local|\*\.local|\.\*)|\*\.local)\s*$/m.test(readFileSync(gitignore, "utf8"))) {
    notes.push(".gitignore does not ignore .env.local, which holds the BFF key: add `.env*.local` to it.");
  }
  return notes.length > 0 ? ["", ...notes.map((note) => `Note: ${note}`)] : [];
}

function main(): number {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === "error") {
    process.stderr.write(`@tessera/next: ${parsed.message}\n\n${USAGE}`);
    return 2;
  }
  return init(process.cwd(), parsed.options, (text) => process.stdout.write(text));
}

process.exitCode = main();
