import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { request, resetRequest } from "./next-mocks.js";
import type { SessionData } from "../src/types.js";
import { startUpstream } from "./upstream-server.js";

vi.mock("next/headers", () => ({
  headers: async () => new Headers({ ...request.headers, cookie: [...request.jar.values()].map((c) => `${c.name}=${c.value}`).join("; ") }),
  cookies: async () => ({ get: (name: string) => request.jar.get(name), getAll: () => [...request.jar.values()] }),
}));

const { createAccessTokenGetter } = await import("../src/server/access-token.js");
const { resolveConfig } = await import("../src/config.js");

/** What getSession() answers: the live session's id, or null once it has ended. */
let liveSession: string | null = "sid-1";
const getSession = async (): Promise<SessionData | null> =>
  liveSession === null
    ? null
    : {
        user: { id: "u", email: "a@example.com", name: null, email_verified: false, roles: [], created_at: "" },
        session: { id: liveSession, created_at: "", expires_at: "", absolute_expires_at: "", amr: ["pwd"] },
      };

let status = 200;
let error = "invalid_grant";
let delayMs = 0;
let issued = 0;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
beforeAll(async () => {
  upstream = await startUpstream((_received, response) => {
    if (status !== 200) {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify({ error }));
      return;
    }
    issued += 1;
    const body = JSON.stringify({ access_token: `jwt-${issued}`, token_type: "Bearer", expires_in: 300 });
    setTimeout(() => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(body);
    }, delayMs);
  });
});
afterAll(() => upstream.close());
beforeEach(() => {
  status = 200;
  error = "invalid_grant";
  delayMs = 0;
  liveSession = "sid-1";
  resetRequest({ "user-agent": "Browser/1", "sec-fetch-site": "cross-site" }, { "__Host-tessera_session": "sess", "__Host-tessera_csrf": "csrf-1" });
});

describe("getAccessToken", () => {
  it("uses the session grant with the CSRF header and BFF key, and caches until shortly before expiry", async () => {
    let now = 1_000_000;
    const getAccessToken = createAccessTokenGetter(
      () => resolveConfig({ serverUrl: upstream.url, bffKey: "k", publicOrigin: "http://localhost:3000" }),
      getSession,
      { now: () => now },
    );
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
    const getAccessToken = createAccessTokenGetter(() => resolveConfig({ serverUrl: upstream.url }), getSession);
    const a = await getAccessToken();
    resetRequest({}, { "__Host-tessera_session": "other", "__Host-tessera_csrf": "c" });
    expect(await getAccessToken()).not.toBe(a);
  });

  it("fails with a stable code when signed out or refused", async () => {
    const getAccessToken = createAccessTokenGetter(() => resolveConfig({ serverUrl: upstream.url }), getSession);
    status = 400;
    await expect(getAccessToken()).rejects.toMatchObject({ code: "unauthenticated" });
    resetRequest({}, {});
    await expect(getAccessToken()).rejects.toMatchObject({ code: "unauthenticated" });
  });

  it("stops serving a cached token once the session has ended or changed", async () => {
    const getAccessToken = createAccessTokenGetter(() => resolveConfig({ serverUrl: upstream.url }), getSession);
    const first = await getAccessToken();
    liveSession = "sid-2"; // same cookie, another session (e.g. a stale cache entry): mint anew
    const second = await getAccessToken();
    expect(second).not.toBe(first);
    expect(await getAccessToken()).toBe(second);
    liveSession = null; // signed out elsewhere, device revoked, password changed
    const before = upstream.received.length;
    await expect(getAccessToken()).rejects.toMatchObject({ code: "unauthenticated" });
    expect(upstream.received).toHaveLength(before);
  });

  it("shares one token request among concurrent callers of one session", async () => {
    delayMs = 30;
    const getAccessToken = createAccessTokenGetter(() => resolveConfig({ serverUrl: upstream.url }), getSession);
    const before = upstream.received.length;
    const all = await Promise.all(Array.from({ length: 5 }, () => getAccessToken()));
    expect(new Set(all).size).toBe(1);
    expect(upstream.received).toHaveLength(before + 1);
  });

  it("reports a CSRF refusal (403 access_denied) as an upstream error, not as signed out", async () => {
    const getAccessToken = createAccessTokenGetter(() => resolveConfig({ serverUrl: upstream.url }), getSession);
    status = 403;
    error = "access_denied";
    await expect(getAccessToken()).rejects.toMatchObject({ code: "upstream_error", status: 403, message: expect.stringContaining("access_denied") });
  });
});
