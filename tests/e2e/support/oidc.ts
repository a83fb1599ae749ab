import { randomUUID } from "node:crypto";
import { expect, type Locator, type Page } from "@playwright/test";

/**
 * "Sign in with Acme": Acme is tests/oidc-provider (a real `oidc-provider`
 * with its dev login and consent pages) started by the global setup. Its
 * login page takes any login name and any password; the account's email is
 * `<login>@oidc.test`, verified.
 */

export const OAUTH_COOKIE = "__Host-tessera_oauth";

export function oidcOrigin(): string {
  const value = process.env.E2E_OIDC_URL;
  if (!value) throw new Error("E2E_OIDC_URL is not set: run through playwright.config.ts (global setup)");
  return new URL(value).origin;
}

/** A login name no other test uses, so every test gets its own provider account. */
export function uniqueLogin(): string {
  return `pw-${randomUUID().slice(0, 8)}`;
}

/**
 * On the provider's pages: sign in as `login` (any password), confirm
 * consent if asked, and wait for `landing`, an element of the page the app
 * should bring the browser back to.
 */
export async function signInAtProvider(page: Page, login: string, landing: Locator): Promise<void> {
  await expect(page).toHaveURL((url) => url.origin === oidcOrigin());
  await expect(page.getByRole("heading", { name: "Sign-in" })).toBeVisible();
  await page.getByPlaceholder("Enter any login").fill(login);
  await page.getByPlaceholder("and password").fill("anything at all");
  await page.getByRole("button", { name: "Sign-in" }).click();
  const consent = page.getByRole("button", { name: "Continue" });
  await expect(consent.or(landing)).toBeVisible();
  if (await consent.isVisible()) {
    await expect(page.getByRole("heading", { name: "Authorize" })).toBeVisible();
    await consent.click();
  }
  await expect(landing).toBeVisible();
}
