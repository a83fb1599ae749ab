import { expect, test } from "../support/fixtures.js";
import nextConfig, { MAIL_LINK_PAGES } from "../../../examples/next-demo/next.config.js";
import { baseUrl, shippedUrl } from "../support/fixtures.js";

const TOKEN = "A".repeat(43);

test("a mailed link answers no-referrer and moves its token from the URL into an HttpOnly cookie for that page only", async ({ request }) => {
  expect([...MAIL_LINK_PAGES].sort()).toEqual(["/confirm-email", "/reset-password", "/verify-email"]);
  for (const path of MAIL_LINK_PAGES) {
    const response = await request.get(`${path}?token=${TOKEN}`, { maxRedirects: 0 });
    expect(response.status(), path).toBe(303);
    expect(response.headers()["referrer-policy"], path).toBe("no-referrer");
    expect(response.headers().location, path).toBe(path);
    const cookie = response.headersArray().find((header) => header.name.toLowerCase() === "set-cookie")?.value ?? "";
    expect(cookie, path).toContain(`demo_mail_token=${TOKEN}`);
    expect(cookie.toLowerCase(), path).toContain(`path=${path}`);
    expect(cookie.toLowerCase(), path).toContain("httponly");
    expect(cookie.toLowerCase(), path).toContain("samesite=lax");
  }
  // The page itself (no token in its URL) keeps the site-wide policy, under
  // which a form POST still carries an Origin (no-referrer would send "null").
  const page = await request.get("/reset-password", { maxRedirects: 0 });
  expect(page.status()).toBe(200);
  expect(page.headers()["referrer-policy"]).toBe("strict-origin-when-cross-origin");
  // The rule is the build's too: next.config.ts lists it after the catch-all.
  const rules = (await nextConfig.headers?.()) ?? [];
  const last = rules.findLastIndex((rule) => rule.headers.some((header) => header.key === "Referrer-Policy" && header.value === "no-referrer"));
  expect(last).toBeGreaterThan(rules.findIndex((rule) => rule.source === "/:path*"));
});

test("a link page hands its token to no other site: it is in no URL, so no Referer can carry it", async ({ page, context }) => {
  const seen: (string | undefined)[] = [];
  await context.route(
    (url) => url.hostname === "third-party.example",
    async (route) => {
      seen.push(route.request().headers().referer);
      await route.fulfill({ status: 200, contentType: "text/html", body: "<h1>elsewhere</h1>" });
    },
  );
  await page.goto(`/reset-password?token=${TOKEN}`);
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await expect(page.getByLabel("New password")).toBeVisible();
  expect(page.url()).toBe(`${baseUrl()}/reset-password`);
  // As if the page (or a browser extension) led elsewhere.
  await page.evaluate(() => {
    const anchor = document.createElement("a");
    anchor.href = "http://third-party.example/landing";
    document.body.append(anchor);
    anchor.click();
  });
  await expect(page).toHaveURL("http://third-party.example/landing");
  expect(seen).toHaveLength(1);
  expect(seen[0] ?? "").not.toContain(TOKEN);
});

test("a malformed link forgets an older token: the page asks for a new link", async ({ page }) => {
  await page.goto(`/reset-password?token=${TOKEN}`);
  await expect(page.getByLabel("New password")).toBeVisible();
  await page.goto("/reset-password?token=no");
  await expect(page.getByText("This link is incomplete.")).toBeVisible();
  await expect(page.getByLabel("New password")).toHaveCount(0);
});

test("a link page loads nothing from other origins", async ({ page }) => {
  const origins = new Set<string>();
  page.on("request", (request) => origins.add(new URL(request.url()).origin));
  await page.goto(`/verify-email?token=${TOKEN}`);
  await expect(page.getByRole("button", { name: "Verify my email address" })).toBeVisible();
  expect([...origins]).toEqual([baseUrl()]);
});

test("/dev/outbox is a 404 without TESSERA_DEV_OUTBOX, as the demo runs here and in production", async ({ page, request }) => {
  for (const origin of [baseUrl(), shippedUrl()]) {
    const response = await request.get(`${origin}/dev/outbox`);
    expect(response.status(), origin).toBe(404);
    expect(await response.text(), origin).not.toContain("Development only");
  }
  const response = await page.goto("/dev/outbox");
  expect(response?.status()).toBe(404);
});
