import { expect, registerViaUi, test } from "../support/fixtures.js";

test("signing out in one tab signs out the other tab of the same browser", async ({ context, page, account }) => {
  await registerViaUi(page, account);
  const other = await context.newPage();
  await other.goto("/dashboard");
  await expect(other.getByTestId("session-status")).toHaveText("authenticated");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  // Nobody touches the other tab: the BroadcastChannel message makes it re-check and leave.
  await expect(other).toHaveURL(/\/login\?next=%2Fdashboard$/);
  await expect(other.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
});
