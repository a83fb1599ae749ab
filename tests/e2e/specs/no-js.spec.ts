import { PASSWORD, expect, test } from "../support/fixtures.js";

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
  await page.getByRole("button", { name: "Sign in" }).click();
  expect((await post).resourceType()).toBe("document");
  await expect(page.locator("main").getByRole("alert")).toHaveText("Email or password is incorrect.");
  await expect(page.getByLabel("Email")).toHaveValue(account.email);

  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/account\/password$/);
  await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
});
