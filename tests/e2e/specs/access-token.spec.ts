import type { SessionData } from "@tessera/next";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { baseUrl, expect, registerViaUi, test } from "../support/fixtures.js";
import { fetchJwks, sessionGrant } from "../support/tessera.js";

test("the dashboard shows API access from getAccessToken(), never the token itself", async ({ page, account }) => {
  await registerViaUi(page, account);
  await expect(page.getByTestId("api-access")).toBeVisible();
  await expect(page.getByTestId("api-token-sid-match")).toHaveText("yes");
  const ttl = Number(await page.getByTestId("api-token-ttl").textContent());
  expect(ttl).toBeGreaterThan(30);
  expect(ttl).toBeLessThanOrEqual(300);
  // Neither the HTML nor the RSC payload inlined in it carries a JWT.
  expect(await page.content()).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);

  // Cached per session: a reload serves the same token, so its lifetime only shrinks.
  await page.reload();
  await expect(page.getByTestId("api-token-sid-match")).toHaveText("yes");
  expect(Number(await page.getByTestId("api-token-ttl").textContent())).toBeLessThanOrEqual(ttl);
});

test("a session-grant token verifies with tessera's JWKS and dies with the session", async ({ page, context, account }) => {
  await registerViaUi(page, account);
  const me = (await page.evaluate(async () => (await fetch("/api/auth/session", { headers: { accept: "application/json" } })).json())) as SessionData;
  const cookies = await context.cookies();

  const refused = await sessionGrant(cookies, { csrf: false });
  expect(refused.status).toBe(403);
  expect(await refused.json()).toMatchObject({ error: "access_denied" });

  const granted = await sessionGrant(cookies);
  expect(granted.status).toBe(200);
  const body = (await granted.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ token_type: "Bearer", expires_in: expect.any(Number) });
  expect(body).not.toHaveProperty("refresh_token");
  const token = String(body.access_token);

  const jwks = await fetchJwks();
  const header = decodeProtectedHeader(token);
  expect(header.alg).toBe("EdDSA");
  expect(jwks.set.keys.map((key) => key.kid)).toContain(header.kid);
  const { payload } = await jwtVerify(token, jwks.keys, { issuer: baseUrl(), audience: "tessera", algorithms: ["EdDSA"] });
  expect(payload).toMatchObject({ sid: me.session.id, sub: me.user.id, aud: "tessera", roles: me.user.roles });
  expect(typeof payload.jti).toBe("string");
  expect(Number(payload.exp) - Number(payload.iat)).toBe(body.expires_in);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  const after = await sessionGrant(cookies);
  expect(after.status).toBe(400);
  expect(await after.json()).toMatchObject({ error: "invalid_grant" });
});
