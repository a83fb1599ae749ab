import { randomUUID } from "node:crypto";
import type { Browser, Page } from "@playwright/test";
import { type Account, PASSWORD, baseUrl, expect, registerViaApi, registerViaUi, screenshot, signInViaUi, test, watchPageProblems } from "../support/fixtures.js";
import { hasLink, linkIn, waitForMail } from "../support/mail.js";
import { tesseraCli } from "../support/tessera.js";
import { freshCode } from "../support/totp.js";

// The administrator signs in with a code from a later 30-second step than
// the one that turned TOTP on: up to half a minute of waiting.
test.describe.configure({ timeout: 120_000 });

/** A pattern for the page at exactly `path` (with its query) on the app. */
function at(path: string): RegExp {
  return new RegExp(`^https?://[^/]+${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

function newAccount(prefix: string): Account {
  const id = randomUUID().slice(0, 8);
  return { email: `${prefix}-${id}@example.com`, password: PASSWORD, name: `${prefix} ${id}` };
}

/** `tessera user roles --email E --add admin`, run as an operator would, against the e2e server's database. */
async function makeAdmin(email: string): Promise<void> {
  expect(await tesseraCli(["user", "roles", "--email", email, "--add", "admin"])).toContain(`${email}: admin`);
}

/** The signed-in user as the app's auth API reports it. */
async function whoami(page: Page): Promise<{ id: string; roles: string[] } | null> {
  return page.evaluate(async () => {
    const response = await fetch("/api/auth/session", { headers: { accept: "application/json" } });
    if (response.status !== 200) return null;
    return ((await response.json()) as { user: { id: string; roles: string[] } }).user;
  });
}

/** Turns the authenticator app on at /account/security; the secret and the step its first code used. */
async function enrollTotp(page: Page, account: Account): Promise<{ secret: string; step: number }> {
  await page.goto("/account/security");
  const enroll = page.getByTestId("totp-enroll");
  await enroll.getByLabel("Current password").fill(account.password);
  await enroll.getByRole("button", { name: "Set up authenticator app" }).click();
  const secret = ((await page.getByTestId("totp-secret").textContent()) ?? "").trim();
  expect(secret).toMatch(/^[A-Z2-7]{16,}=*$/);
  const first = await freshCode(secret, 0);
  const confirm = page.getByTestId("totp-confirm");
  await confirm.getByLabel("Code").fill(first.code);
  await confirm.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByTestId("totp-status")).toContainText("Two-step sign-in is on");
  return { secret, step: first.step };
}

/** Another browser (its own cookies) with `account` registered and signed in there. */
async function targetBrowser(browser: Browser, account: Account): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl(), userAgent: "Target browser/1" });
  const page = await context.newPage();
  await registerViaUi(page, account);
  return page;
}

test("signed out, every admin page sends the browser to sign in and back", async ({ page }) => {
  for (const path of ["/admin", "/admin/audit", `/admin/users/${randomUUID()}`]) {
    await page.goto(path);
    await expect(page).toHaveURL(at(`/login?next=${encodeURIComponent(path)}`));
  }
});

test("a signed-in user without the admin role gets a 404 on every admin page, and no Admin link", async ({ page, account }) => {
  await registerViaUi(page, account);
  const me = await whoami(page);
  expect(me?.roles).toEqual([]);
  for (const path of ["/admin", "/admin?query=a", "/admin/audit", `/admin/users/${me?.id ?? ""}`]) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(404);
    await expect(page.getByRole("heading", { name: /^Admin/ })).toHaveCount(0);
  }
  await page.goto("/account");
  await expect(page.getByTestId("account-email")).toHaveText(account.email);
  await expect(page.getByRole("link", { name: "Admin", exact: true })).toHaveCount(0);
});

test("an administrator whose session has no second factor is told to sign in with one", async ({ page, account }) => {
  const problems = watchPageProblems(page);
  await registerViaUi(page, account);
  await makeAdmin(account.email);
  // The role shows in the session at once: the account page links to admin.
  await page.goto("/account");
  await expect(page.getByTestId("session-amr")).toHaveText("pwd");
  await page.getByRole("link", { name: "Admin", exact: true }).click();
  await expect(page).toHaveURL(/\/admin$/);
  const refusal = page.getByTestId("admin-second-factor");
  await expect(refusal.getByRole("heading", { name: "Sign in with a second factor to use admin" })).toBeVisible();
  await expect(page.getByRole("table")).toHaveCount(0);
  await expect(page.getByRole("search")).toHaveCount(0);
  await screenshot(page, "admin-second-factor");
  const audit = await page.goto("/admin/audit");
  expect(audit?.status()).toBe(200);
  await expect(page.getByTestId("admin-second-factor")).toBeVisible();
  await expect(page.getByTestId("audit-row")).toHaveCount(0);
  const me = await whoami(page);
  await page.goto(`/admin/users/${me?.id ?? ""}`);
  await expect(page.getByTestId("admin-second-factor")).toBeVisible();
  await expect(page.getByTestId("admin-disable")).toHaveCount(0);
  expect(problems).toEqual([]);
});

test("an administrator signed in with TOTP finds a user, disables and enables them, adds a role, signs them out, mails a reset link; the audit log shows it all", async ({
  page,
  browser,
  account: admin,
}) => {
  const problems = watchPageProblems(page);
  const target = newAccount("target");
  const targetPage = await targetBrowser(browser, target);
  const targetId = (await whoami(targetPage))?.id ?? "";
  expect(targetId).toMatch(/^[0-9a-f-]{36}$/);

  // The administrator: an authenticator app, the role, then a sign-in with a code.
  await registerViaUi(page, admin);
  const { secret, step } = await enrollTotp(page, admin);
  await makeAdmin(admin.email);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await signInViaUi(page, admin, "/login?next=%2Fadmin");
  await expect(page).toHaveURL(/\/login\/mfa\?next=%2Fadmin$/);
  await page.getByLabel("Code").fill((await freshCode(secret, step)).code);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/admin$/);
  const adminId = (await whoami(page))?.id ?? "";
  expect(adminId).toMatch(/^[0-9a-f-]{36}$/);
  // The admin API is reached through the pages' server code only: the app's auth route does not forward it.
  const relayed = await page.request.get("/api/auth/admin/users", { headers: { accept: "application/json" } });
  expect(relayed.status()).toBe(404);

  // Search by part of the address, any case.
  await expect(page.getByRole("heading", { name: "Admin: users" })).toBeVisible();
  await page.getByLabel("Search users").fill(target.email.split("@")[0]?.toUpperCase() ?? "");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/\/admin\?query=TARGET-/);
  const rows = page.getByTestId("admin-user-row");
  await expect(rows).toHaveCount(1);
  await expect(rows.first().getByRole("cell").nth(3)).toHaveText("Active");
  await rows.first().getByRole("link", { name: target.email }).click();
  await expect(page).toHaveURL(at(`/admin/users/${targetId}`));
  await expect(page.getByTestId("admin-user-email")).toHaveText(target.email);
  await expect(page.getByTestId("admin-session-row")).toHaveCount(1);
  await expect(page.getByTestId("admin-session-row").first()).toContainText("Target browser/1");
  await expect(page.getByTestId("admin-no-roles")).toBeVisible();
  await expect(page.getByTestId("admin-totp")).toHaveText("off");
  await screenshot(page, "admin-user");

  // Disable: the target's browser is signed out on its next navigation and cannot sign in.
  const status = page.getByTestId("admin-disable");
  await status.getByRole("button", { name: "Disable user" }).click();
  await expect(status.getByRole("status")).toContainText("The user is disabled");
  await expect(page.getByTestId("admin-user-status")).toHaveText("Disabled: this user cannot sign in.");
  await expect(page.getByTestId("admin-no-sessions")).toBeVisible();
  await targetPage.goto("/account");
  await expect(targetPage).toHaveURL(/\/login\?next=%2Faccount$/);
  await signInViaUi(targetPage, target, "");
  await expect(targetPage.locator("main").getByRole("alert")).toHaveText("Email or password is incorrect.");
  await expect(targetPage).toHaveURL(/\/login\?next=%2Faccount$/);

  // Enable: they can sign in again.
  await status.getByRole("button", { name: "Enable user" }).click();
  await expect(status.getByRole("status")).toContainText("The user is enabled");
  await expect(page.getByTestId("admin-user-status")).toHaveText("Active: this user can sign in.");
  await signInViaUi(targetPage, target, "");
  await expect(targetPage).toHaveURL(/\/account$/);

  // A role: on the page, and in the target's session at once.
  const roles = page.getByTestId("admin-roles");
  await roles.getByLabel("Role", { exact: true }).fill("support");
  await roles.getByRole("button", { name: "Add role" }).click();
  await expect(roles.getByRole("status")).toHaveText("Role support added.");
  await expect(page.getByTestId("admin-role")).toHaveText(["support"]);
  expect((await whoami(targetPage))?.roles).toEqual(["support"]);
  // A role tessera would refuse is a field error, and changes nothing.
  await roles.getByLabel("Role", { exact: true }).fill("Not A Role");
  await roles.getByRole("button", { name: "Add role" }).click();
  await expect(roles.locator("#admin-add-role-error")).toContainText("A role is 1 to 64");
  await expect(page.getByTestId("admin-role")).toHaveText(["support"]);

  // Sign out everywhere: the target's browser is signed out.
  await page.reload();
  await expect(page.getByTestId("admin-session-row")).toHaveCount(1);
  await page.getByTestId("admin-revoke-sessions").getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(page.getByTestId("admin-revoke-sessions").getByRole("status")).toContainText("signed out everywhere");
  await expect(page.getByTestId("admin-no-sessions")).toBeVisible();
  await targetPage.goto("/account");
  await expect(targetPage).toHaveURL(/\/login\?next=%2Faccount$/);

  // A reset link, mailed to the target.
  const reset = page.getByTestId("admin-password-reset");
  await reset.getByRole("button", { name: "Send a password reset link" }).click();
  await expect(reset.getByRole("status")).toContainText("on its way");
  const mail = await waitForMail(target.email, hasLink("/reset-password"));
  expect(linkIn(mail, "/reset-password")).toContain("/reset-password?token=");

  // The audit log for the target: each change, by this administrator, newest first.
  await page.getByRole("link", { name: "This user's audit log" }).click();
  await expect(page).toHaveURL(at(`/admin/audit?user=${targetId}`));
  await expect(page.getByLabel("User id")).toHaveValue(targetId);
  const events = page.getByTestId("audit-row");
  const byAdmin = events.and(page.locator(`[data-actor="admin:${adminId}"]`));
  await expect(byAdmin).toHaveCount(5);
  expect(await byAdmin.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-kind")))).toEqual([
    "password_reset",
    "session_revoked",
    "roles_changed",
    "user_enabled",
    "user_disabled",
  ]);
  await expect(byAdmin.first().getByRole("cell").nth(3)).toHaveText(`administrator admin:${adminId}`);
  await expect(byAdmin.first().getByRole("cell").nth(2)).toHaveText(targetId);
  // Only the target's events: their sign-up and sign-ins are there, the administrator's are not.
  expect(await events.evaluateAll((trs) => trs.map((tr) => tr.querySelectorAll("td")[2]?.textContent))).toEqual(
    Array.from({ length: await events.count() }, () => targetId),
  );
  await expect(events.and(page.locator('[data-kind="sign_up"]'))).toHaveCount(1);
  await screenshot(page, "admin-audit");

  // Filtered by kind too.
  await page.getByLabel("Kind").selectOption("user_disabled");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(at(`/admin/audit?user=${targetId}&kind=user_disabled`));
  await expect(events).toHaveCount(1);
  await expect(events.first()).toHaveAttribute("data-actor", `admin:${adminId}`);
  expect(problems).toEqual([]);
  await targetPage.context().close();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an administrator searches and pages users and the audit log, removes a role and deletes a user with plain forms and links", async ({ page, browser, account: admin }) => {
    // The administrator's session, made with JavaScript (TOTP enrolment and sign-in are covered above and in mfa.spec.ts).
    const setup = await browser.newContext({ baseURL: baseUrl() });
    const setupPage = await setup.newPage();
    await registerViaUi(setupPage, admin);
    const { secret, step } = await enrollTotp(setupPage, admin);
    await makeAdmin(admin.email);
    await setupPage.getByRole("button", { name: "Sign out" }).click();
    await signInViaUi(setupPage, admin, "/login?next=%2Fadmin");
    await setupPage.getByLabel("Code").fill((await freshCode(secret, step)).code);
    await setupPage.getByRole("button", { name: "Verify" }).click();
    await expect(setupPage).toHaveURL(/\/admin$/);
    await page.context().addCookies(await setup.cookies());
    await setup.close();

    // 21 users with one tag: a page of 20, then a page of one.
    const tag = randomUUID().slice(0, 8);
    const users = Array.from({ length: 21 }, (_, n) => ({
      email: `nojs-${String(n).padStart(2, "0")}-${tag}@example.com`,
      password: PASSWORD,
      name: `No JS ${n}`,
    }));
    for (const user of users) await registerViaApi(baseUrl(), user);
    const emails = users.map((user) => user.email).sort();

    await page.goto("/admin");
    await page.getByLabel("Search users").fill(tag);
    const search = page.waitForRequest((r) => r.url().includes("/admin?query="));
    await page.getByRole("button", { name: "Search" }).click();
    expect((await search).resourceType()).toBe("document");
    const rows = page.getByTestId("admin-user-row");
    await expect(rows).toHaveCount(20);
    const firstUsers = await rows.getByRole("link").allTextContents();
    await page.getByRole("link", { name: "Next page" }).click();
    await expect(page).toHaveURL(new RegExp(`/admin\\?query=${tag}&cursor=`));
    await expect(rows).toHaveCount(1);
    const last = (await rows.getByRole("link").textContent()) ?? "";
    // Every match once, over the two pages.
    expect([...firstUsers, last].sort()).toEqual(emails);
    await expect(page.getByRole("link", { name: "Next page" })).toHaveCount(0);
    await page.getByRole("link", { name: "First page" }).click();
    await expect(rows.getByRole("link")).toHaveText(firstUsers);

    // The audit log pages too: 20 sign-ups, then older ones, none twice.
    await page.goto("/admin/audit?kind=sign_up");
    const events = page.getByTestId("audit-row");
    await expect(events).toHaveCount(20);
    const firstPage = await events.evaluateAll((trs) => trs.map((tr) => tr.querySelector("time")?.getAttribute("datetime") ?? ""));
    const firstIds = await events.evaluateAll((trs) => trs.map((tr) => tr.querySelectorAll("td")[2]?.textContent ?? ""));
    await page.getByRole("link", { name: "Next page" }).click();
    await expect(page).toHaveURL(/\/admin\/audit\?kind=sign_up&cursor=/);
    await expect(events.first()).toHaveAttribute("data-kind", "sign_up");
    const secondPage = await events.evaluateAll((trs) => trs.map((tr) => tr.querySelector("time")?.getAttribute("datetime") ?? ""));
    const secondIds = await events.evaluateAll((trs) => trs.map((tr) => tr.querySelectorAll("td")[2]?.textContent ?? ""));
    expect(secondPage.length).toBeGreaterThan(0);
    expect(Date.parse(secondPage[0] ?? "")).toBeLessThanOrEqual(Date.parse(firstPage.at(-1) ?? ""));
    expect(secondIds.filter((id) => firstIds.includes(id))).toEqual([]);

    // A filter tessera refuses is said so, not a crash.
    await page.goto("/admin/audit?user=not-a-user-id");
    await expect(page.getByTestId("admin-refused-query").getByRole("alert")).toContainText("user id is not a user id");

    // Remove a role (an operator gave it): a form POST that renders the page again with the message.
    await tesseraCli(["user", "roles", "--email", last, "--add", "support"]);
    await page.goto(`/admin?query=${encodeURIComponent(last)}`);
    await rows.getByRole("link", { name: last }).click();
    await expect(page.getByTestId("admin-role")).toHaveText(["support"]);
    const post = page.waitForRequest((r) => r.method() === "POST");
    await page.getByRole("button", { name: "Remove role support" }).click();
    expect((await post).resourceType()).toBe("document");
    await expect(page.getByTestId("admin-roles").getByRole("status")).toHaveText("Role support removed.");
    await expect(page.getByTestId("admin-no-roles")).toBeVisible();

    // Delete: refused without the ticked box, then done, back to the list without them.
    const remove = page.getByTestId("admin-delete-user");
    await remove.getByRole("button", { name: "Delete user" }).click();
    await expect(page.locator("#admin-delete-confirm-error")).toContainText("Tick the box");
    await page.getByLabel("Yes, delete this user").check();
    await page.getByTestId("admin-delete-user").getByRole("button", { name: "Delete user" }).click();
    await expect(page).toHaveURL(/\/admin$/);
    await page.getByLabel("Search users").fill(last);
    await page.getByRole("button", { name: "Search" }).click();
    await expect(page.getByTestId("admin-no-users")).toBeVisible();
    await expect(rows).toHaveCount(0);
  });
});
