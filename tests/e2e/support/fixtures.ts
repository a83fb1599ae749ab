import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

export const SESSION_COOKIE = "__Host-tessera_session";
export const CSRF_COOKIE = "__Host-tessera_csrf";
export const PASSWORD = "correct horse battery";

const artifacts = join(dirname(fileURLToPath(import.meta.url)), "../artifacts");

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through playwright.config.ts (global setup)`);
  return value;
}

export interface Account {
  email: string;
  password: string;
  name: string;
}

export const test = base.extend<{ account: Account }>({
  baseURL: async ({}, use) => use(env("E2E_BASE_URL")),
  account: async ({}, use) => {
    const id = randomUUID().slice(0, 8);
    await use({ email: `user-${id}@example.com`, password: PASSWORD, name: `User ${id}` });
  },
});
export { expect };

export function baseUrl(): string {
  return env("E2E_BASE_URL");
}

/** `next start` itself, without the proxy in front. */
export function directUrl(): string {
  return env("E2E_DIRECT_URL");
}

/** The demo as shipped (no client-IP settings) under its own `next start`, facing clients directly, no proxy. */
export function shippedUrl(): string {
  return env("E2E_SHIPPED_URL");
}

/** Registers through the auth API of the app at `appUrl`; returns a Cookie header with the new session. */
export async function registerViaApi(appUrl: string, account: Account): Promise<string> {
  const response = await fetch(`${appUrl}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", origin: baseUrl() },
    body: JSON.stringify({ email: account.email, password: account.password, name: account.name }),
  });
  if (response.status !== 201 && response.status !== 200) throw new Error(`register answered ${response.status}: ${await response.text()}`);
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";", 1)[0] ?? "")
    .filter((pair) => pair.startsWith("__Host-tessera_"))
    .join("; ");
}

/** Registers through the demo's form and lands on the dashboard. */
export async function registerViaUi(page: Page, account: Account): Promise<void> {
  await page.goto("/register");
  await page.getByLabel("Name").fill(account.name);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("user-email")).toHaveText(account.email);
}

/** Signs in through the demo's form (does not wait for the destination). */
export async function signInViaUi(page: Page, account: Pick<Account, "email" | "password">, path = "/login"): Promise<void> {
  if (path) await page.goto(path);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** A second, independent browser (its own cookie jar) signed in as `account`. */
export async function signedInContext(
  browser: Browser,
  account: Account,
  userAgent: string,
  extraHTTPHeaders: Record<string, string> = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: baseUrl(), userAgent, extraHTTPHeaders });
  const page = await context.newPage();
  await signInViaUi(page, account);
  await expect(page).toHaveURL(/\/dashboard$/);
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Content-Security-Policy refusals and uncaught page errors (hydration included) from here on. */
export function watchPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (/Content.Security.Policy|Refused to|Hydration|did not match/i.test(message.text())) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return problems;
}
