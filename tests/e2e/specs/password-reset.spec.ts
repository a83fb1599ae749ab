import { PASSWORD, baseUrl, expect, registerViaApi, signInViaUi, signedInContext, test } from "../support/fixtures.js";
import { hasLink, linkIn, mailsTo, waitForMail } from "../support/mail.js";

const NEW_PASSWORD = "a brand new passphrase";
const SENT = /^If an account exists for that address, we sent it a link/;

test("forgot password: the mailed link signs in with a new password and signs every other browser out", async ({ page, browser, request, account }) => {
  await registerViaApi(baseUrl(), account);
  const other = await signedInContext(browser, account, "OtherBrowser/1");

  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel("Email").fill(account.email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByRole("status")).toHaveText(SENT);

  const mail = await waitForMail(account.email, hasLink("/reset-password"));
  // What the SMTP server received is a real two-part mail to that address.
  expect(mail.to).toEqual([account.email]);
  expect(mail.contentType).toMatch(/^multipart\/alternative/);
  expect(mail.html).toContain("/reset-password?token=");
  const link = linkIn(mail, "/reset-password");
  expect(link.startsWith(`${baseUrl()}/reset-password?token=`)).toBe(true);

  // Opening the link (a person, or a mail scanner fetching it) spends nothing.
  expect((await request.get(link)).status()).toBe(200);
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await other.page.reload();
  await expect(other.page).toHaveURL(/\/dashboard$/);
  const stillOld = await request.post("/api/auth/login", { data: { email: account.email, password: PASSWORD } });
  expect(stillOld.status()).toBe(200);

  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("user-email")).toHaveText(account.email);

  // The other browser's session ended with the reset.
  await other.page.reload();
  await expect(other.page).toHaveURL(/\/login\?next=%2Fdashboard$/);
  await other.context.close();

  // The link is spent.
  await page.goto(link);
  await page.getByLabel("New password").fill("yet another passphrase");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.locator("main").getByRole("alert").first()).toContainText("invalid, has expired or was already used");

  const fresh = await browser.newContext({ baseURL: baseUrl() });
  const login = await fresh.newPage();
  await signInViaUi(login, { email: account.email, password: PASSWORD });
  await expect(login.locator("main").getByRole("alert")).toHaveText("Email or password is incorrect.");
  await signInViaUi(login, { email: account.email, password: NEW_PASSWORD });
  await expect(login).toHaveURL(/\/dashboard$/);
  await fresh.close();
});

test("forgot password says the same for an address without an account, and mails nobody", async ({ page, account }) => {
  await page.goto("/forgot-password");
  await page.getByLabel("Email").fill(account.email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByRole("status")).toHaveText(SENT);
  // tessera sends within about a second; give it well over that.
  await page.waitForTimeout(2_000);
  expect(await mailsTo(account.email)).toEqual([]);
});
