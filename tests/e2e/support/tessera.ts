import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Cookie } from "@playwright/test";
import { createLocalJWKSet, type JSONWebKeySet } from "jose";
import { CSRF_COOKIE, SESSION_COOKIE, baseUrl } from "./fixtures.js";

/**
 * Test-only access to the tessera server the global setup started (the demo
 * never exposes its address or the BFF key to browsers).
 */
function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through playwright.config.ts (global setup)`);
  return value;
}

export const tesseraUrl = (): string => env("E2E_TESSERA_URL");
export const bffKey = (): string => env("E2E_BFF_KEY");

/** `grant_type=session` straight at tessera with a browser's cookies and, unless told not to, its CSRF header. */
export async function sessionGrant(cookies: Cookie[], options: { csrf?: boolean } = {}): Promise<Response> {
  const value = (name: string) => cookies.find((c) => c.name === name)?.value ?? "";
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
    cookie: `${SESSION_COOKIE}=${value(SESSION_COOKIE)}; ${CSRF_COOKIE}=${value(CSRF_COOKIE)}`,
    origin: baseUrl(),
    "tessera-bff-key": bffKey(),
  };
  if (options.csrf !== false) headers["x-csrf-token"] = value(CSRF_COOKIE);
  return fetch(`${tesseraUrl()}/v1/token`, { method: "POST", headers, body: "grant_type=session" });
}

/** Tessera's public keys (`/.well-known/jwks.json`: not under /v1, no BFF key). */
export async function fetchJwks(): Promise<{ set: JSONWebKeySet; keys: ReturnType<typeof createLocalJWKSet> }> {
  const response = await fetch(`${tesseraUrl()}/.well-known/jwks.json`);
  if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
  const set = (await response.json()) as JSONWebKeySet;
  return { set, keys: createLocalJWKSet(set) };
}

/**
 * Runs the tessera command line (`tessera user roles --email E --add admin`,
 * …) against the e2e server's data dir, as an operator on that machine
 * would; resolves with what it printed, rejects when it fails.
 */
export async function tesseraCli(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(env("E2E_TESSERA_BIN"), args, {
    // Only what the command needs: none of the serve settings of the environment running the tests.
    env: { NODE_ENV: process.env.NODE_ENV, PATH: process.env.PATH ?? "", TESSERA_DATA_DIR: env("E2E_DATA_DIR"), TESSERA_LOG: "warn" },
    timeout: 30_000,
  });
  return stdout;
}
