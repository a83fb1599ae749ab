import { expect, registerViaUi, screenshot, signInViaUi, test } from "../support/fixtures.js";

test("the account page's Recent activity lists sign-ins and a failed one in words, newest first", async ({ page, account }) => {
  // Sign up, sign out, a wrong password, then the right one.
  await registerViaUi(page, account);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await signInViaUi(page, { email: account.email, password: "not the password" });
  await expect(page.locator("main").getByRole("alert")).toHaveText("Email or password is incorrect.");
  await signInViaUi(page, account, "");
  await expect(page).toHaveURL(/\/dashboard$/);

  await page.goto("/account");
  const section = page.getByTestId("recent-activity");
  await expect(section.getByRole("heading", { level: 2, name: "Recent activity" })).toBeVisible();
  const table = page.getByRole("table", { name: "Recent activity" });
  await expect(table.getByRole("columnheader")).toHaveText(["When", "What happened", "IP address"]);
  const rows = table.getByTestId("activity-row");
  // Newest first: the sign-in, the failed one before it, the sign-out, and
  // the sign-up (which records the account and its first session).
  await expect(rows).toHaveCount(5);
  await expect(rows.nth(0)).toHaveAttribute("data-kind", "sign_in");
  const kinds = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-kind")));
  expect(kinds).toEqual(["sign_in", "sign_in_failed", "sign_out", "sign_in", "sign_up"]);
  const words = await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelectorAll("td")[1]?.textContent));
  expect(words).toEqual(["Signed in", "Failed sign-in (wrong password)", "Signed out", "Signed in", "Account created"]);
  // The times are in order too, and each row names the client's address
  // (the e2e proxy forwards it; the demo as shipped would say "unknown").
  const times = await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector("time")?.getAttribute("datetime") ?? ""));
  expect(times.map((time) => Date.parse(time))).toEqual(times.map((time) => Date.parse(time)).sort((a, b) => b - a));
  // Each row has a time in words (and machine-readable) and an IP column.
  for (const index of [0, 1]) {
    const cells = rows.nth(index).getByRole("cell");
    await expect(cells).toHaveCount(3);
    await expect(cells.nth(0)).toHaveText(/\d{4}, \d{2}:\d{2} UTC$/);
    await expect(cells.nth(0).locator("time")).toHaveAttribute("datetime", /^\d{4}-\d{2}-\d{2}T/);
    await expect(cells.nth(2)).toHaveText(/^[0-9a-f.:]+$/);
  }
  await screenshot(page, "account-activity");

  // The same list reaches the browser through the route handler.
  const viaBff = await page.evaluate(async () => {
    const response = await fetch("/api/auth/account/activity", { headers: { accept: "application/json" } });
    return { status: response.status, body: (await response.json()) as { events: { kind: string }[] } };
  });
  expect(viaBff.status).toBe(200);
  expect(viaBff.body.events.slice(0, 2).map((event) => event.kind)).toEqual(["sign_in", "sign_in_failed"]);
});
