import { expect, test, type Page } from "@playwright/test";
import { freshCode } from "../../e2e/support/totp.js";

function url(path: string): string {
  const base = process.env.INIT_BASE_URL;
  if (!base) throw new Error("INIT_BASE_URL is not set: global-setup.ts did not run");
  return `${base}${path}`;
}

/** Every step a new user takes in the app init wrote, by the names a person reads on the page. */
async function signUpAndOut(page: Page, email: string): Promise<void> {
  await page.goto(url("/account"));
  await expect(page).toHaveURL(url("/login?next=%2Faccount"));
  await page.getByRole("link", { name: "Sign up" }).click();
  await expect(page).toHaveURL(url("/register?next=%2Faccount"));
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery staple");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(url("/account"));
  await expect(page.getByTestId("account-email")).toHaveText(email);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(url("/login"));
  await page.goto(url("/account"));
  await expect(page).toHaveURL(url("/login?next=%2Faccount"));

  // And back in with the same password, through the sign-in form.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery staple");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(url("/account"));
  await expect(page.getByTestId("account-email")).toHaveText(email);
}

test("create-next-app + init: /account sends to sign-in, sign up lands on /account with the email, sign out", async ({ page }) => {
  await signUpAndOut(page, `init-${Date.now()}@example.com`);
});

/**
 * Turns on an authenticator app for the signed-in user through the app's
 * /api/auth route (init writes no set-up page), then signs out and in again:
 * the sign-in form leads to init's /login/mfa, whose Code form finishes it.
 */
async function signInWithCode(page: Page, email: string): Promise<void> {
  const csrf = (await page.context().cookies()).find((c) => c.name === "__Host-tessera_csrf")?.value ?? "";
  const headers = { origin: url(""), "x-csrf-token": csrf };
  const begun = await page.request.post(url("/api/auth/mfa/totp"), { headers, data: { current_password: "correct horse battery staple" } });
  expect(begun.status()).toBe(200);
  const { secret } = (await begun.json()) as { secret: string };
  const first = await freshCode(secret, 0);
  const confirmed = await page.request.post(url("/api/auth/mfa/totp/confirm"), { headers, data: { code: first.code } });
  expect(confirmed.status()).toBe(200);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(url("/login"));
  await page.goto(url("/account"));
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery staple");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(url("/login/mfa?next=%2Faccount"));
  await page.getByLabel("Code").fill((await freshCode(secret, first.step)).code);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(url("/account"));
  await expect(page.getByTestId("account-email")).toHaveText(email);
}

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the same path works as plain form posts", async ({ page }) => {
    await signUpAndOut(page, `init-nojs-${Date.now()}@example.com`);
  });

  test("with an authenticator app on, sign-in goes through /login/mfa", async ({ page }) => {
    // The code of the step the set-up used is spent: the sign-in may wait for the next one.
    test.setTimeout(90_000);
    const email = `init-mfa-${Date.now()}@example.com`;
    await signUpAndOut(page, email);
    await signInWithCode(page, email);
  });
});
