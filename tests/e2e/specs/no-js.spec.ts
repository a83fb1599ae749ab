import { PASSWORD, expect, test } from "../support/fixtures.js";
import { hasLink, linkIn, waitForMail } from "../support/mail.js";

test.use({ javaScriptEnabled: false });

test("the login form works with JavaScript disabled", async ({ page, request, account }) => {
  const created = await request.post("/api/auth/register", { data: { email: account.email, password: PASSWORD, name: account.name } });
  expect(created.status()).toBe(201);

  await page.goto("/account/password");
  await expect(page).toHaveURL(/\/login\?next=%2Faccount%2Fpassword$/);

  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill("wrong password!");
  // Without JavaScript the form is a classic document POST, not a fetch by React.
  const post = page.waitForRequest((r) => r.method() === "POST");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  expect((await post).resourceType()).toBe("document");
  await expect(page.locator("main").getByRole("alert")).toHaveText("Email or password is incorrect.");
  await expect(page.getByLabel("Email")).toHaveValue(account.email);

  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account\/password$/);
  await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
});

test("forgot password, reset and email verification work with JavaScript disabled", async ({ page, request, account }) => {
  const created = await request.post("/api/auth/register", { data: { email: account.email, password: PASSWORD, name: account.name } });
  expect(created.status()).toBe(201);

  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await page.getByLabel("Email").fill(account.email);
  const post = page.waitForRequest((r) => r.method() === "POST");
  await page.getByRole("button", { name: "Send reset link" }).click();
  expect((await post).resourceType()).toBe("document");
  await expect(page.getByRole("status")).toHaveText(/^If an account exists for that address/);

  const link = linkIn(await waitForMail(account.email, hasLink("/reset-password")), "/reset-password");
  await page.goto(link);
  // A too-short password comes back as a field error on the same page, token and all.
  await page.getByLabel("New password").fill("short");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.locator("#field-new_password-error")).toContainText("New password");
  await expect(page).toHaveURL(/\/reset-password$/);
  await page.getByLabel("New password").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("user-email")).toHaveText(account.email);

  // The reset verified the address (the link proved the mailbox), so no banner.
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
});

test("the verify button works with JavaScript disabled", async ({ page, account }) => {
  await page.goto("/register");
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("verify-banner")).toBeVisible();

  const link = linkIn(await waitForMail(account.email, hasLink("/verify-email")), "/verify-email");
  await page.goto(link);
  await page.getByRole("button", { name: "Verify my email address" }).click();
  await expect(page.getByRole("status")).toHaveText(`${account.email} is verified.`);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
});
