import { expect, registerViaUi, screenshot, signedInContext, test } from "../support/fixtures.js";

const LOOPBACK = /^(127\.0\.0\.1|::1)$/;

test("revoking a device from the sessions page signs that browser out", async ({ page, browser, account }) => {
  await registerViaUi(page, account);
  // The phone claims an address itself; the proxy in front of the demo appends
  // the one it saw, and the demo, configured for that one proxy
  // (TRUSTED_PROXY_COUNT=1), believes only that rightmost entry.
  const phone = await signedInContext(browser, account, "PhoneBrowser/1.0 (e2e)", { "x-forwarded-for": "203.0.113.7" });
  try {
    await page.goto("/account/sessions");
    const rows = page.getByTestId("session-row");
    await expect(rows).toHaveCount(2);
    const phoneRow = rows.filter({ hasText: "PhoneBrowser/1.0" });
    await expect(phoneRow).toHaveAttribute("data-current", "false");
    await expect(phoneRow.locator("td").nth(1)).toHaveText(LOOPBACK);
    await expect(page.locator('[data-current="true"] td').nth(1)).toHaveText(LOOPBACK);
    await phoneRow.getByRole("button", { name: "Revoke" }).click();
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toHaveAttribute("data-current", "true");

    await phone.page.goto("/dashboard");
    await expect(phone.page).toHaveURL(/\/login\?next=%2Fdashboard$/);
    // This browser is still signed in.
    await page.goto("/dashboard");
    await expect(page.getByTestId("user-email")).toHaveText(account.email);
  } finally {
    await phone.context.close();
  }
});

test("'Sign out everywhere else' ends every other session", async ({ page, browser, account }) => {
  await registerViaUi(page, account);
  const a = await signedInContext(browser, account, "OtherA/1.0");
  const b = await signedInContext(browser, account, "OtherB/1.0");
  try {
    await page.goto("/account/sessions");
    await expect(page.getByTestId("session-row")).toHaveCount(3);
    await page.getByRole("button", { name: "Sign out everywhere else" }).click();
    await expect(page.getByTestId("session-row")).toHaveCount(1);
    for (const other of [a, b]) {
      await other.page.goto("/account/sessions");
      await expect(other.page).toHaveURL(/\/login\?next=%2Faccount%2Fsessions$/);
    }
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test("a password change signs out the other browser and keeps this one", async ({ page, browser, account }) => {
  await registerViaUi(page, account);
  const other = await signedInContext(browser, account, "OtherDevice/1.0");
  try {
    await page.goto("/account/password");
    await screenshot(page, "password");
    await page.getByLabel("Current password").fill("wrong password here");
    await page.getByLabel("New password").fill("a brand new password");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#field-current_password-error")).toHaveText("Current password is incorrect.");

    await page.getByLabel("Current password").fill(account.password);
    await page.getByLabel("New password").fill("a brand new password");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByRole("status")).toContainText("Password changed");

    await page.goto("/dashboard");
    await expect(page.getByTestId("user-email")).toHaveText(account.email);
    await other.page.goto("/dashboard");
    await expect(other.page).toHaveURL(/\/login\?next=%2Fdashboard$/);

    // The new password works, the old one does not.
    await other.page.getByLabel("Email").fill(account.email);
    await other.page.getByLabel("Password", { exact: true }).fill(account.password);
    await other.page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(other.page.locator("main").getByRole("alert")).toHaveText("Email or password is incorrect.");
    await other.page.getByLabel("Password", { exact: true }).fill("a brand new password");
    await other.page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(other.page).toHaveURL(/\/dashboard$/);
  } finally {
    await other.context.close();
  }
});
