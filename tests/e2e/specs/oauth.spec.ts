import type { Browser, Locator, Page } from "@playwright/test";
import { PASSWORD, SESSION_COOKIE, baseUrl, expect, registerViaUi, screenshot, test } from "../support/fixtures.js";
import { OAUTH_COOKIE, oidcOrigin, signInAtProvider, uniqueLogin } from "../support/oidc.js";

/** A fresh browser (own cookies, no provider session) that signs in with Acme from /login. */
async function signInWithAcme(browser: Browser, login: string, landing: (page: Page) => Locator) {
  const context = await browser.newContext({ baseURL: baseUrl() });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByRole("link", { name: "Sign in with Acme" }).click();
  await signInAtProvider(page, login, landing(page));
  return { context, page };
}

test("signed out, /dashboard → /login → Sign in with Acme → back on /dashboard, signed in", async ({ page, context }) => {
  const login = uniqueLogin();
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
  const link = page.getByRole("link", { name: "Sign in with Acme" });
  await expect(link).toHaveAttribute("href", "/api/auth/oauth/acme/start?return_to=%2Fdashboard");
  await screenshot(page, "login-with-providers");

  const callback = page.waitForResponse((response) => new URL(response.url()).pathname === "/api/auth/oauth/acme/callback");
  await link.click();
  await expect(page).toHaveURL((url) => url.origin === oidcOrigin());
  // Start set the flow's binding cookie, Lax so it comes back on the provider's redirect.
  const started = (await context.cookies()).find((c) => c.name === OAUTH_COOKIE);
  expect(started).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax", path: "/" });
  await signInAtProvider(page, login, page.getByTestId("user-email"));

  // The callback answered with the same-site bounce page, which set the cookies.
  const bounce = await callback;
  expect(bounce.status()).toBe(200);
  expect(bounce.headers()["content-type"]).toMatch(/^text\/html/);
  expect(bounce.headers()["content-security-policy"]).toContain("default-src 'none'");
  expect(bounce.headers()["cache-control"]).toContain("no-store");

  // Rendered on the server for the navigation the bounce page made: the
  // Strict session cookie was sent on it.
  await expect(page).toHaveURL(`${baseUrl()}/dashboard`);
  await expect(page.getByTestId("user-email")).toHaveText(`${login}@oidc.test`);
  await expect(page.getByTestId("session-status")).toHaveText("authenticated");
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === SESSION_COOKIE)).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/", domain: "localhost" });
  expect(cookies.some((c) => c.name === OAUTH_COOKIE)).toBe(false);
  await screenshot(page, "dashboard-after-oauth");

  // The next navigations are signed in too.
  await page.getByRole("link", { name: "Account" }).click();
  await expect(page).toHaveURL(`${baseUrl()}/account`);
  await expect(page.getByTestId("account-email")).toHaveText(`${login}@oidc.test`);
  await page.goto("/account");
  await expect(page.getByTestId("account-email")).toHaveText(`${login}@oidc.test`);
  const row = page.getByTestId("identity-row");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Acme");
  await expect(row).toContainText(`${login}@oidc.test`);

  // Acme is this account's only way in: unlinking it is refused, in words.
  await page.getByRole("button", { name: "Unlink Acme" }).click();
  await expect(page.getByTestId("sign-in-methods").getByRole("alert")).toHaveText(
    "This is the only way you can sign in, so it cannot be unlinked. Link another provider first.",
  );
  await expect(page.getByTestId("identity-row")).toHaveCount(1);
});

test("a password user links Acme from /account, signs in with it elsewhere, then unlinks it", async ({ page, browser, account }) => {
  const login = uniqueLogin();
  await registerViaUi(page, account);
  await page.getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("heading", { name: "Sign-in methods" })).toBeVisible();
  await expect(page.getByTestId("no-identities")).toBeVisible();

  const link = page.getByRole("link", { name: "Link Acme" });
  await expect(link).toHaveAttribute("href", "/api/auth/oauth/acme/start?return_to=%2Faccount");
  await link.click();
  await signInAtProvider(page, login, page.getByTestId("identity-row"));
  await expect(page).toHaveURL(`${baseUrl()}/account`);
  // Still the same user, now with Acme linked.
  await expect(page.getByTestId("account-email")).toHaveText(account.email);
  const row = page.getByTestId("identity-row");
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute("data-provider", "acme");
  await expect(row).toContainText("Acme");
  await expect(row).toContainText(`${login}@oidc.test`);
  await expect(page.getByRole("link", { name: "Link Acme" })).toHaveCount(0);
  await screenshot(page, "account-linked");

  // Another browser signing in with that Acme account is this user.
  const other = await signInWithAcme(browser, login, (p) => p.getByTestId("user-email"));
  await expect(other.page.getByTestId("user-email")).toHaveText(account.email);
  await other.context.close();

  await page.getByRole("button", { name: "Unlink Acme" }).click();
  await expect(page.getByTestId("sign-in-methods").getByRole("status")).toHaveText("Acme is no longer linked to your account.");
  await expect(page.getByTestId("identity-row")).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Link Acme" })).toBeVisible();
  await page.reload();
  await expect(page.getByTestId("no-identities")).toBeVisible();

  // Unlinked: that Acme account no longer signs in as this user. Its email is
  // not this user's, so it becomes an account of its own.
  const again = await signInWithAcme(browser, login, (p) => p.getByTestId("user-email"));
  await expect(again.page.getByTestId("user-email")).toHaveText(`${login}@oidc.test`);
  await again.context.close();
});

test("/login?error= explains known codes in words and never echoes an unknown one", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto("/login?error=account_exists");
  const alert = page.locator("main").getByRole("alert");
  await expect(alert).toHaveText(
    "An account with this email already exists. Sign in with your password, then link this provider from your account page.",
  );
  await screenshot(page, "login-error");

  await page.goto("/login?error=oauth_state_mismatch&next=%2Faccount");
  await expect(alert).toHaveText("The sign-in took too long or was started in another browser. Please try again.");
  // The sign-in links keep next.
  await expect(page.getByRole("link", { name: "Sign in with Acme" })).toHaveAttribute("href", "/api/auth/oauth/acme/start?return_to=%2Faccount");

  for (const code of ["no_such_code", "<img src=x onerror=alert(1)>", "constructor", "account_exists<b>x</b>"]) {
    await page.goto(`/login?error=${encodeURIComponent(code)}`);
    await expect(alert, code).toHaveText("Sign-in did not complete. Please try again.");
    await expect(page.locator("main img, main b")).toHaveCount(0);
  }
  await page.goto("/login?error=a&error=b");
  await expect(alert).toHaveText("Sign-in did not complete. Please try again.");
  await page.goto("/login");
  await expect(alert).toHaveCount(0);
  expect(dialogs).toEqual([]);
});

test("an Acme account whose email already has a password account is refused with account_exists", async ({ page, browser }) => {
  const login = uniqueLogin();
  // The provider will say <login>@oidc.test, verified; a password account has it already.
  await registerViaUi(page, { email: `${login}@oidc.test`, password: PASSWORD, name: "Existing" });

  const other = await signInWithAcme(browser, login, (p) => p.locator("main").getByRole("alert"));
  await expect(other.page).toHaveURL(`${baseUrl()}/login?error=account_exists`);
  await expect(other.page.locator("main").getByRole("alert")).toHaveText(
    "An account with this email already exists. Sign in with your password, then link this provider from your account page.",
  );
  expect((await other.context.cookies()).some((c) => c.name === SESSION_COOKIE)).toBe(false);
  await other.context.close();
});

test("linking an Acme account that belongs to another user shows identity_taken on /account", async ({ page, browser, account }) => {
  const login = uniqueLogin();
  // That Acme account signs up on its own first.
  const first = await signInWithAcme(browser, login, (p) => p.getByTestId("user-email"));
  await expect(first.page.getByTestId("user-email")).toHaveText(`${login}@oidc.test`);
  await first.context.close();

  await registerViaUi(page, account);
  await page.goto("/account");
  await page.getByRole("link", { name: "Link Acme" }).click();
  await signInAtProvider(page, login, page.locator("main").getByRole("alert"));
  // tessera's failure page points at /login?error=; signed in, the demo shows it on /account.
  await expect(page).toHaveURL(`${baseUrl()}/account?error=identity_taken`);
  await expect(page.locator("main").getByRole("alert")).toHaveText("That provider account is already linked to another user.");
  await expect(page.getByTestId("account-email")).toHaveText(account.email);
  await expect(page.getByTestId("identity-row")).toHaveCount(0);
});

test("cancelling at the provider comes back to /login with access_denied, signed out", async ({ page, context }) => {
  await page.goto("/login?next=%2Fdashboard");
  await page.getByRole("link", { name: "Sign in with Acme" }).click();
  await expect(page.getByRole("heading", { name: "Sign-in" })).toBeVisible();
  await page.getByRole("link", { name: "[ Cancel ]" }).click();
  await expect(page).toHaveURL(`${baseUrl()}/login?error=access_denied`);
  await expect(page.locator("main").getByRole("alert")).toHaveText("Sign-in was cancelled at the provider, so you were not signed in.");
  expect((await context.cookies()).some((c) => c.name === SESSION_COOKIE)).toBe(false);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("Sign in with Acme works: plain links, provider forms and the bounce page's meta refresh", async ({ page }) => {
    const login = uniqueLogin();
    await page.goto("/dashboard");
    await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
    await page.getByRole("link", { name: "Sign in with Acme" }).click();
    await signInAtProvider(page, login, page.getByTestId("user-email"));
    await expect(page).toHaveURL(`${baseUrl()}/dashboard`);
    await expect(page.getByTestId("user-email")).toHaveText(`${login}@oidc.test`);
  });
});
