import type { CDPSession, Page } from "@playwright/test";
import { expect, registerViaUi, screenshot, test, watchPageProblems } from "../support/fixtures.js";
import { signInAtProvider, uniqueLogin } from "../support/oidc.js";

/**
 * Chromium's virtual authenticator (DevTools protocol, WebAuthn domain):
 * a platform authenticator with resident keys and user verification that
 * always succeeds, so the browser's real WebAuthn code runs with no prompt.
 * The demo's origin is http://localhost:PORT, tessera's RP ID `localhost`.
 */
async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { cdp, authenticatorId };
}

test("passkeys: register one, sign in with it (no password, no code), rename and delete it", async ({ page, account }) => {
  const problems = watchPageProblems(page);
  const { cdp, authenticatorId } = await virtualAuthenticator(page);
  await registerViaUi(page, account);
  await page.goto("/account/security");
  const section = page.getByTestId("passkeys-section");
  await expect(section.getByTestId("no-passkeys")).toBeVisible();

  await section.getByLabel("Passkey name (optional)").fill("E2E key");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByRole("status")).toHaveText("Passkey “E2E key” added. You can now sign in with it.");
  await expect(section.getByTestId("passkey-row")).toHaveCount(1);
  await expect(section.getByLabel("Name of passkey E2E key")).toHaveValue("E2E key");
  // The authenticator holds one discoverable credential for the RP localhost.
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: "localhost" });
  await screenshot(page, "security-passkeys");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/login?next=%2Faccount");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toHaveText(account.email);
  await expect(page.getByTestId("session-amr")).toHaveText("hwk mfa");

  await page.goto("/account/security");
  const row = section.getByTestId("passkey-row");
  await expect(row).not.toContainText("Never");
  await row.getByLabel("Name of passkey E2E key").fill("Renamed key");
  await row.getByRole("button", { name: "Rename" }).click();
  await expect(section.getByRole("status")).toHaveText("The passkey is now called Renamed key.");
  await expect(section.getByLabel("Name of passkey Renamed key")).toHaveValue("Renamed key");

  // The account still has its password, so the passkey is not the last way in.
  await section.getByRole("button", { name: "Delete passkey Renamed key" }).click();
  await expect(section.getByRole("status")).toHaveText("The passkey is deleted.");
  await expect(section.getByTestId("no-passkeys")).toBeVisible();

  // Deleted on the server: the credential the authenticator still holds no longer signs in.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/login?next=%2Faccount");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.locator("main").getByRole("alert")).toHaveText("That passkey is not registered here, or could not be verified.");
  await expect(page).toHaveURL(/\/login\?next=%2Faccount$/);
  expect(problems).toEqual([]);
});


test("a passkey that is the account's last way in cannot be deleted, in words", async ({ page }) => {
  await virtualAuthenticator(page);
  const login = uniqueLogin();
  await page.goto("/login?next=%2Faccount%2Fsecurity");
  await page.getByRole("link", { name: "Sign in with Acme" }).click();
  await signInAtProvider(page, login, page.getByRole("heading", { name: "Security", exact: true }));
  const section = page.getByTestId("passkeys-section");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByTestId("passkey-row")).toHaveCount(1);

  // With a passkey, the provider is no longer the only way in: it can go.
  await page.goto("/account");
  await page.getByRole("button", { name: "Unlink Acme" }).click();
  await expect(page.getByTestId("no-identities")).toBeVisible();

  await page.goto("/account/security");
  await section.getByRole("button", { name: /^Delete passkey / }).click();
  await expect(section.getByRole("alert")).toHaveText("This passkey is your only way to sign in: set a password or link a provider before you delete it.");
  await expect(section.getByTestId("passkey-row")).toHaveCount(1);
});
