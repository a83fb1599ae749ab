import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CSRF_COOKIE, SESSION_COOKIE, baseUrl, expect, registerViaUi, signInViaUi, test } from "../support/fixtures.js";

/** An attacker's page on another site (127.0.0.1 is cross-site to localhost) that auto-submits a form. */
async function attackerSite(html: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

function autoSubmit(action: string, enctype: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name='${name}' value='${value}'>`)
    .join("");
  return `<!doctype html><title>You won!</title><form id="f" method="POST" enctype="${enctype}" action="${action}">${inputs}</form>
<script>document.getElementById("f").submit()</script>`;
}

test("a forged cross-site form POST to logout is refused and the session stays", async ({ page, context, account }) => {
  await registerViaUi(page, account);
  const evil = await attackerSite(autoSubmit(`${baseUrl()}/api/auth/logout`, "application/x-www-form-urlencoded", { x: "1" }));
  try {
    const forged = page.waitForResponse((r) => r.url() === `${baseUrl()}/api/auth/logout`);
    await page.goto(evil.url);
    const response = await forged;
    expect(response.request().method()).toBe("POST");
    expect(response.status()).toBe(403);
    expect(await response.json()).toMatchObject({ status: 403, code: "origin_forbidden" });
  } finally {
    evil.server.close();
  }
  expect((await context.cookies()).map((c) => c.name)).toContain(SESSION_COOKIE);
  await page.goto("/dashboard");
  await expect(page.getByTestId("user-email")).toHaveText(account.email);
});

test("a forged cross-site JSON-ish POST to change the password is refused", async ({ page, browser, account }) => {
  await registerViaUi(page, account);
  const body = { '{"current_password":"x","new_password":"': 'attacker-password"}' };
  const evil = await attackerSite(autoSubmit(`${baseUrl()}/api/auth/password`, "text/plain", body));
  try {
    const forged = page.waitForResponse((r) => r.url() === `${baseUrl()}/api/auth/password`);
    await page.goto(evil.url);
    expect((await forged).status()).toBe(403);
  } finally {
    evil.server.close();
  }
  await page.goto("/dashboard");
  await expect(page.getByTestId("user-email")).toHaveText(account.email);
  // The password is unchanged: a fresh browser still signs in with it.
  const fresh = await browser.newContext({ baseURL: baseUrl() });
  const freshPage = await fresh.newPage();
  await signInViaUi(freshPage, account);
  await expect(freshPage).toHaveURL(/\/dashboard$/);
  await fresh.close();
});

test("a same-origin fetch without the CSRF header is refused (403)", async ({ page, account }) => {
  await registerViaUi(page, account);
  const attempts = await page.evaluate(async (csrfCookie) => {
    const bare = await fetch("/api/auth/logout", { method: "POST" });
    const wrong = await fetch("/api/auth/sessions", { method: "DELETE", headers: { "x-csrf-token": "not-the-token" } });
    return {
      bare: { status: bare.status, body: (await bare.json()) as { code: string } },
      wrong: { status: wrong.status, body: (await wrong.json()) as { code: string } },
      hasCsrfCookie: document.cookie.includes(`${csrfCookie}=`),
    };
  }, CSRF_COOKIE);
  expect(attempts.hasCsrfCookie).toBe(true);
  expect(attempts.bare).toEqual({ status: 403, body: expect.objectContaining({ code: "csrf_failed" }) });
  expect(attempts.wrong).toEqual({ status: 403, body: expect.objectContaining({ code: "csrf_failed" }) });
  await page.reload();
  await expect(page.getByTestId("user-email")).toHaveText(account.email);
});

test("the BFF exposes only the allow-listed endpoints, and tessera wants the BFF key", async ({ request }) => {
  for (const path of ["/api/auth/metrics", "/api/auth/healthz", "/api/auth/openapi.json", "/api/auth/sessions/a/b"]) {
    const response = await request.get(path);
    expect(response.status(), path).toBe(404);
    expect(await response.json()).toMatchObject({ code: "not_found" });
  }
  const direct = await fetch(`${process.env.E2E_TESSERA_URL}/v1/session`);
  expect(direct.status).toBe(403);
  expect(await direct.json()).toMatchObject({ code: "bff_key_invalid" });
  const viaBff = await request.get("/api/auth/session");
  expect(viaBff.status()).toBe(401);
});
