import { createTokenClient, memoryStorage, type TokenSet } from "@tessera/next";
import { baseUrl, expect, registerViaApi, test } from "../support/fixtures.js";
import { startResourceServer, type ResourceServer } from "../support/resource-server.js";
import { bffKey, tesseraUrl } from "../support/tessera.js";

/** The same JWT with one signature character changed: well-formed, but no key verifies it. */
function tampered(jwt: string): string {
  const at = jwt.lastIndexOf(".") + 5;
  return jwt.slice(0, at) + (jwt[at] === "A" ? "B" : "A") + jwt.slice(at + 1);
}

let resource: ResourceServer;
test.beforeAll(async () => {
  resource = await startResourceServer();
});
test.afterAll(async () => resource.close());

test("createTokenClient against tessera: password grant, one refresh for concurrent 401s, rotated token stored", async ({ account }) => {
  await registerViaApi(baseUrl(), account);
  const tokenUrl = `${tesseraUrl()}/v1/token`;
  const grants: string[] = [];
  const counting: typeof fetch = (input, init) => {
    if (String(input) === tokenUrl) grants.push(new URLSearchParams(String(init?.body)).get("grant_type") ?? "");
    return fetch(input, init);
  };
  const storage = memoryStorage();
  const client = createTokenClient({ tokenUrl, headers: { "tessera-bff-key": bffKey() }, fetch: counting, storage });

  const first = await client.signInWithPassword(account.email, account.password);
  expect(first.refreshToken).toEqual(expect.any(String));
  const ok = await client.fetch(resource.url);
  expect(ok.status).toBe(200);
  const { sub } = (await ok.json()) as { sub: string };

  // The resource server now refuses the stored access token: every concurrent call gets a 401.
  await storage.set({ ...first, accessToken: tampered(first.accessToken) });
  const before = resource.statuses.length;
  const responses = await Promise.all(Array.from({ length: 6 }, () => client.fetch(resource.url)));
  expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200));
  for (const response of responses) expect(await response.json()).toMatchObject({ sub });
  expect(resource.statuses.slice(before).filter((s) => s === 401)).toHaveLength(6);
  expect(grants).toEqual(["password", "refresh_token"]);

  const stored = (await storage.get()) as TokenSet;
  expect(stored.refreshToken).toEqual(expect.any(String));
  expect(stored.refreshToken).not.toBe(first.refreshToken);
  expect(stored.accessToken).not.toBe(first.accessToken);

  // The stored token is the live one: it refreshes again; after sign-out (revocation) it is refused.
  const again = await client.refresh();
  expect(again.refreshToken).not.toBe(stored.refreshToken);
  await client.signOut();
  expect(await storage.get()).toBeNull();
  const revoked = await fetch(tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "tessera-bff-key": bffKey() },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: again.refreshToken ?? "" }).toString(),
  });
  expect(revoked.status).toBe(400);
  expect(await revoked.json()).toMatchObject({ error: "invalid_grant" });
});
