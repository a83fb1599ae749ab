import { CSRF_COOKIE, PASSWORD, SESSION_COOKIE, expect, registerViaUi, signInViaUi, test } from "../support/fixtures.js";

test("delete account: refused without the box or with a wrong password; then signed out for good", async ({ page, context, account }) => {
  await registerViaUi(page, account);
  await page.goto("/account");
  const form = page.getByTestId("delete-account");

  await form.getByLabel("Current password").fill(PASSWORD);
  await form.getByRole("button", { name: "Delete account" }).click();
  await expect(form.getByText("Tick the box to confirm that your account should be deleted.")).toBeVisible();

  await form.getByLabel("Current password").fill("not the password");
  await form.getByLabel("Yes, delete my account").check();
  await form.getByRole("button", { name: "Delete account" }).click();
  await expect(form.getByText("Current password is incorrect.")).toBeVisible();
  await page.goto("/dashboard");
  await expect(page.getByTestId("user-email")).toHaveText(account.email);

  await page.goto("/account");
  await form.getByLabel("Current password").fill(PASSWORD);
  await form.getByLabel("Yes, delete my account").check();
  await form.getByRole("button", { name: "Delete account" }).click();
  await expect(page).toHaveURL(/\/login$/);
  const left = (await context.cookies()).filter((cookie) => (cookie.name === SESSION_COOKIE || cookie.name === CSRF_COOKIE) && cookie.value !== "");
  expect(left).toEqual([]);

  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
  await signInViaUi(page, account);
  await expect(page.locator("main").getByRole("alert")).toHaveText("Email or password is incorrect.");
});
