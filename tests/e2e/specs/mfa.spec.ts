import { readFile } from "node:fs/promises";
import type { Page } from "@playwright/test";
import { type Account, baseUrl, expect, registerViaUi, screenshot, signInViaUi, test, watchPageProblems } from "../support/fixtures.js";
import { signInAtProvider, uniqueLogin } from "../support/oidc.js";
import { readQrCode } from "../support/qr.js";
import { codeAt, freshCode, stepAt, wrongCode } from "../support/totp.js";

// Some steps wait for the next 30-second TOTP step: tessera refuses a step
// that was used already.
test.describe.configure({ timeout: 120_000 });

const MFA_COOKIE = "__Host-tessera_mfa";

/** Turns on the authenticator app on /account/security; returns the secret, the step the first code used and the recovery codes. */
async function enrollTotp(page: Page, account: Account, options = { javaScript: true }): Promise<{ secret: string; step: number; codes: string[] }> {
  await page.goto("/account/security");
  await expect(page.getByTestId("totp-status")).toHaveText("Two-step sign-in is off.");
  const enroll = page.getByTestId("totp-enroll");
  await enroll.getByLabel("Current password").fill(account.password);
  await enroll.getByRole("button", { name: "Set up authenticator app" }).click();

  const confirm = page.getByTestId("totp-confirm");
  await expect(confirm.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^[A-Z2-7]{16,}=*$/);
  const uri = await confirm.locator('input[name="otpauth_uri"]').inputValue();
  expect(new URL(uri).protocol).toBe("otpauth:");
  expect(new URL(uri).searchParams.get("secret")).toBe(secret);
  // With JavaScript, read the QR code as a camera would: it must be that URI.
  if (options.javaScript) {
    expect(await readQrCode(page, '[data-testid="totp-qr"]')).toBe(uri);
    await screenshot(page, "security-totp-setup");
  }

  // A wrong first code is refused, and the QR code stays for the next try.
  await confirm.getByLabel("Code").fill(wrongCode(secret));
  await confirm.getByRole("button", { name: "Turn on" }).click();
  await expect(confirm.getByRole("alert")).toContainText("That code is not right");
  await expect(confirm.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
  await expect(page.getByTestId("totp-secret")).toHaveText(secret);

  const first = await freshCode(secret, 0);
  await confirm.getByLabel("Code").fill(first.code);
  await confirm.getByRole("button", { name: "Turn on" }).click();
  const shown = page.getByTestId("recovery-codes");
  await expect(shown.getByRole("status")).toContainText("Two-step sign-in is on");
  const codes = (await shown.locator("li code").allTextContents()).map((code) => code.trim());
  expect(codes).toHaveLength(10);
  expect(new Set(codes).size).toBe(10);
  await expect(page.getByTestId("totp-status")).toContainText("Two-step sign-in is on");
  await expect(page.getByTestId("totp-status")).toContainText("10 recovery codes left");
  return { secret, step: first.step, codes };
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}

/** Password sign-in that stops at the code page (`next` /account). */
async function signInToCodePage(page: Page, account: Account): Promise<void> {
  await signInViaUi(page, account, "/login?next=%2Faccount");
  await expect(page).toHaveURL(/\/login\/mfa\?next=%2Faccount$/);
  await expect(page.getByRole("heading", { name: "Two-step sign-in" })).toBeVisible();
}

test("TOTP: enrol with a QR code, then sign in with password and a fresh code; a wrong or reused code is refused", async ({ page, context, account }) => {
  const problems = watchPageProblems(page);
  await registerViaUi(page, account);
  await page.goto("/account");
  await page.getByRole("link", { name: "Security: authenticator app and passkeys" }).click();
  await expect(page).toHaveURL(/\/account\/security$/);
  const { secret, step, codes } = await enrollTotp(page, account);
  await screenshot(page, "security-recovery-codes");

  // The download is a text file of exactly these codes, made in the page.
  const download = page.waitForEvent("download");
  await page.getByTestId("recovery-codes").getByRole("link", { name: "Download" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("tessera-recovery-codes.txt");
  const text = await readFile((await file.path()) ?? "", "utf8");
  for (const code of codes) expect(text).toContain(code);

  await signOut(page);
  await signInToCodePage(page, account);
  // Only the challenge cookie so far: HttpOnly, Strict, __Host-; no session yet.
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === MFA_COOKIE)).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
  expect(cookies.some((c) => c.name === "__Host-tessera_session")).toBe(false);
  await screenshot(page, "login-mfa");

  await page.getByLabel("Code").fill(wrongCode(secret));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.locator("#field-code-error")).toContainText("That code is not right");
  await expect(page).toHaveURL(/\/login\/mfa\?next=%2Faccount$/);

  const fresh = await freshCode(secret, step, 20_000);
  await page.getByLabel("Code").fill(fresh.code);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toHaveText(account.email);
  await expect(page.getByTestId("session-amr")).toHaveText("pwd otp mfa");
  expect((await context.cookies()).some((c) => c.name === MFA_COOKIE)).toBe(false);

  // The same code again, still in its own 30-second step: refused.
  await signOut(page);
  await signInToCodePage(page, account);
  expect(stepAt(Date.now())).toBe(fresh.step);
  expect(codeAt(secret, Date.now())).toBe(fresh.code);
  await page.getByLabel("Code").fill(fresh.code);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.locator("#field-code-error")).toContainText("That code is not right");
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login\?next=%2Faccount$/);
  expect(problems).toEqual([]);
});

test("a recovery code signs in once; the same code again is refused", async ({ page, account }) => {
  await registerViaUi(page, account);
  const { codes } = await enrollTotp(page, account);
  const recovery = codes[3] ?? "";

  await signOut(page);
  await signInToCodePage(page, account);
  await page.getByRole("link", { name: "Use a recovery code instead" }).click();
  await expect(page).toHaveURL(/\/login\/mfa\?method=recovery&next=%2Faccount$/);
  await page.getByLabel("Recovery code").fill(recovery);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toHaveText(account.email);
  await page.goto("/account/security");
  await expect(page.getByTestId("totp-status")).toContainText("9 recovery codes left");

  await signOut(page);
  await signInToCodePage(page, account);
  await page.getByRole("link", { name: "Use a recovery code instead" }).click();
  await page.getByLabel("Recovery code").fill(recovery);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.locator("#field-recovery_code-error")).toContainText("used already");
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login\?next=%2Faccount$/);
});

test("new recovery codes replace the old ones, and turning TOTP off signs in with the password alone", async ({ page, account }) => {
  await registerViaUi(page, account);
  const { codes } = await enrollTotp(page, account);

  const regenerate = page.getByTestId("totp-regenerate");
  await regenerate.getByLabel("Current password").fill(account.password);
  await regenerate.getByRole("button", { name: "Get new recovery codes" }).click();
  await expect(page.getByTestId("recovery-codes").getByRole("status")).toContainText("New recovery codes");
  const renewed = (await page.getByTestId("recovery-codes").locator("li code").allTextContents()).map((code) => code.trim());
  expect(renewed).toHaveLength(10);
  expect(renewed.some((code) => codes.includes(code))).toBe(false);

  const disable = page.getByTestId("totp-disable");
  await disable.getByLabel("Current password").fill("not the password");
  await disable.getByRole("button", { name: "Turn off" }).click();
  await expect(disable.locator("#totp-disable-password-error")).toHaveText("Current password is incorrect.");
  await disable.getByLabel("Current password").fill(account.password);
  await disable.getByRole("button", { name: "Turn off" }).click();
  await expect(page.getByTestId("totp-status")).toHaveText("Two-step sign-in is off.");

  await signOut(page);
  await signInViaUi(page, account, "/login?next=%2Faccount");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("session-amr")).toHaveText("pwd");
});

test("a provider sign-in asks for the code too when the account has an authenticator app", async ({ page, browser }) => {
  const login = uniqueLogin();
  const provider: Account = { email: `${login}@oidc.test`, password: "", name: login };
  await page.goto("/login?next=%2Faccount");
  await page.getByRole("link", { name: "Sign in with Acme" }).click();
  await signInAtProvider(page, login, page.getByTestId("account-email"));
  await expect(page.getByTestId("session-amr")).toHaveText("fed");
  // No password to give: the session is under 5 minutes old, which is enough.
  const { secret, step } = await enrollTotp(page, provider);

  // Another browser, so the provider asks again and nothing is shared.
  const other = await browser.newContext({ baseURL: baseUrl() });
  const second = await other.newPage();
  await second.goto("/login?next=%2Faccount");
  await second.getByRole("link", { name: "Sign in with Acme" }).click();
  await signInAtProvider(second, login, second.getByRole("heading", { name: "Two-step sign-in" }));
  await expect(second).toHaveURL(/\/login\/mfa\?next=%2Faccount$/);
  expect((await other.cookies()).some((c) => c.name === "__Host-tessera_session")).toBe(false);
  const fresh = await freshCode(secret, step);
  await second.getByLabel("Code").fill(fresh.code);
  await second.getByRole("button", { name: "Verify" }).click();
  await expect(second).toHaveURL(/\/account$/);
  await expect(second.getByTestId("account-email")).toHaveText(provider.email);
  await expect(second.getByTestId("session-amr")).toHaveText(/\bfed\b.*\botp\b|\botp\b.*\bfed\b/);
  await other.close();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("enrolment and the code step work as plain form posts: /login → /login/mfa → /account", async ({ page, account }) => {
    const created = await page.request.post("/api/auth/register", { data: { email: account.email, password: account.password, name: account.name } });
    expect(created.status()).toBe(201);
    const { secret, step } = await enrollTotp(page, account, { javaScript: false });

    await signOut(page);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login\?next=%2Faccount$/);
    await page.getByLabel("Email").fill(account.email);
    await page.getByLabel("Password", { exact: true }).fill(account.password);
    const post = page.waitForRequest((r) => r.method() === "POST");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    expect((await post).resourceType()).toBe("document");
    await expect(page).toHaveURL(/\/login\/mfa\?next=%2Faccount$/);

    await page.getByLabel("Code").fill(wrongCode(secret));
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page.locator("#field-code-error")).toContainText("That code is not right");

    const fresh = await freshCode(secret, step);
    await page.getByLabel("Code").fill(fresh.code);
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("session-amr")).toHaveText("pwd otp mfa");
  });
});
