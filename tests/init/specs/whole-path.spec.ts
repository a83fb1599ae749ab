import { expect, test, type Page } from "@playwright/test";

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

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the same path works as plain form posts", async ({ page }) => {
    await signUpAndOut(page, `init-nojs-${Date.now()}@example.com`);
  });
});
