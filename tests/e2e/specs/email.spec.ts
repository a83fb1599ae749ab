import { PASSWORD, expect, registerViaUi, signInViaUi, test } from "../support/fixtures.js";
import { hasLink, linkIn, mailsTo, waitForMail } from "../support/mail.js";

test("sign-up mails a verification link; the banner stays until its button is pressed", async ({ page, account }) => {
  await registerViaUi(page, account);
  const banner = page.getByTestId("verify-banner");
  await expect(banner).toContainText(account.email);
  await waitForMail(account.email, hasLink("/verify-email"));

  // The banner's button asks for another link, which arrives too.
  await banner.getByRole("button", { name: "Send the link again" }).click();
  await expect(banner.getByRole("status")).toHaveText(/We sent a new link/);
  const mail = await waitForMail(account.email, hasLink("/verify-email"), 2);
  expect(mail.contentType).toMatch(/^multipart\/alternative/);

  const link = linkIn(mail, "/verify-email");
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Verify your email address" })).toBeVisible();
  // Loading the link verified nothing: the banner is still there.
  await expect(page.getByTestId("verify-banner")).toBeVisible();
  await page.getByRole("button", { name: "Verify my email address" }).click();
  await expect(page.getByRole("status")).toHaveText(`${account.email} is verified.`);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);

  await page.goto("/dashboard");
  await expect(page.getByTestId("user-email")).toHaveText(account.email);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
});

test("change email: a confirmation to the new address, a notice to the old one, and the change only on confirm", async ({ page, account }) => {
  const newEmail = account.email.replace("user-", "moved-");
  await registerViaUi(page, account);
  await page.goto("/account");
  const form = page.getByTestId("email-form");

  await form.getByLabel("New email").fill(newEmail);
  await form.getByLabel("Current password").fill("not the password");
  await form.getByRole("button", { name: "Change email" }).click();
  await expect(form.getByText("Current password is incorrect.")).toBeVisible();

  await form.getByLabel("New email").fill(newEmail);
  await form.getByLabel("Current password").fill(PASSWORD);
  await form.getByRole("button", { name: "Change email" }).click();
  await expect(form.getByRole("status")).toHaveText(new RegExp(`^We sent a link to ${newEmail.replace(/\./g, "\\.")}\\.`));

  const confirmation = await waitForMail(newEmail, hasLink("/confirm-email"));
  const link = linkIn(confirmation, "/confirm-email");
  // The old address is told, without a link that could confirm the change.
  await expect.poll(async () => (await mailsTo(account.email)).filter((mail) => !hasLink("/verify-email")(mail)).length, { timeout: 15_000 }).toBe(1);
  const notice = (await mailsTo(account.email)).find((mail) => !hasLink("/verify-email")(mail));
  expect(notice?.text).not.toContain("token=");
  expect(notice?.to).toEqual([account.email]);

  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Confirm your new email address" })).toBeVisible();
  await page.goto("/account");
  await expect(page.getByTestId("account-email")).toHaveText(account.email);

  await page.goto(link);
  await page.getByRole("button", { name: "Use this email address" }).click();
  await expect(page.getByRole("status")).toHaveText(`Your email address is now ${newEmail}.`);
  await page.goto("/account");
  await expect(page.getByTestId("account-email")).toHaveText(newEmail);

  await page.getByRole("button", { name: "Sign out" }).click();
  // Signed out before /login is asked for: a signed-in /login redirects to /dashboard.
  await expect(page).toHaveURL(/\/login$/);
  await signInViaUi(page, { email: account.email, password: PASSWORD });
  await expect(page.locator("main").getByRole("alert")).toHaveText("Email or password is incorrect.");
  await signInViaUi(page, { email: newEmail, password: PASSWORD });
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("the name is saved from the account page", async ({ page, account }) => {
  await registerViaUi(page, account);
  await page.goto("/account");
  const form = page.getByTestId("profile-form");
  await expect(form.getByLabel("Name")).toHaveValue(account.name);
  await form.getByLabel("Name").fill("Renamed Person");
  await form.getByRole("button", { name: "Save name" }).click();
  await expect(form.getByRole("status")).toHaveText("Your name is saved.");
  await page.goto("/dashboard");
  await expect(page.getByTestId("session-user")).toHaveText("Renamed Person");
});
