import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { request, resetRequest } from "./next-mocks.js";
import { startUpstream } from "./upstream-server.js";

vi.mock("next/headers", () => ({
  headers: async () => new Headers({ ...request.headers, cookie: [...request.jar.values()].map((c) => `${c.name}=${c.value}`).join("; ") }),
  cookies: async () => ({ get: (name: string) => request.jar.get(name), getAll: () => [...request.jar.values()] }),
}));

const { createAccessTokenGetter } = await import("../src/server/access-token.js");
const { resolveConfig } = await import("../src/config.js");

let status = 200;
let issued = 0;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
beforeAll(async () => {
  upstream = await startUpstream((_received, response) => {
    if (status !== 200) {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "invalid_grant" }));
      return;
    }
    issued += 1;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ access_token: `jwt-${issued}`, token_type: "Bearer", expires_in: 300 }));
  });
});
afterAll(() => upstream.close());
beforeEach(() => {
  status = 200;
  resetRequest({ "user-agent": "Browser/1", "sec-fetch-site": "cross-site" }, { "__Host-tessera_session": "sess", "__Host-tessera_csrf": "csrf-1" });
});

describe("getAccessToken", () => {
  it("uses the session grant with the CSRF header and BFF key, and caches until shortly before expiry", async () => {
    let now = 1_000_000;
    const getAccessToken = createAccessTokenGetter(() => resolveConfig({ serverUrl: upstream.url, bffKey: "k", publicOrigin: "http://localhost:3000" }), { now: () => now });
    const first = await getAccessToken();
    expect(await getAccessToken()).toBe(first);
    const sent = upstream.received.at(-1);
    expect(upstream.received).toHaveLength(1);
    expect(sent?.url).toBe("/v1/token");
    expect(sent?.body).toBe("grant_type=session");
    expect(sent?.headers).toMatchObject({
      "content-type": "application/x-www-form-urlencoded",
      "x-csrf-token": "csrf-1",
      "tessera-bff-key": "k",
      cookie: "__Host-tessera_session=sess; __Host-tessera_csrf=csrf-1",
      origin: "http://localhost:3000",
    });
    expect(sent?.headers["sec-fetch-site"]).toBeUndefined();
    now += 271_000; // past expires_in minus the 30 s leeway
    expect(await getAccessToken()).not.toBe(first);
    expect(upstream.received).toHaveLength(2);
  });

  it("keeps sessions apart in the cache", async () => {
    const getAccessToken = createAccessTokenGetter(() => resolveConfig({ serverUrl: upstream.url }));
    const a = await getAccessToken();
    resetRequest({}, { "__Host-tessera_session": "other", "__Host-tessera_csrf": "c" });
    expect(await getAccessToken()).not.toBe(a);
  });

  it("fails with a stable code when signed out or refused", async () => {
    const getAccessToken = createAccessTokenGetter(() => resolveConfig({ serverUrl: upstream.url }));
    status = 400;
    await expect(getAccessToken()).rejects.toMatchObject({ code: "unauthenticated" });
    resetRequest({}, {});
    await expect(getAccessToken()).rejects.toMatchObject({ code: "unauthenticated" });
  });
});
