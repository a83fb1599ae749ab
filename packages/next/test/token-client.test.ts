import { describe, expect, it } from "vitest";
import { createTokenClient, memoryStorage } from "../src/token-client.js";

const TOKEN_URL = "https://auth.example/v1/token";
const API = "https://api.example/data";

/** A fake token endpoint + resource server: access tokens are valid until rotated. */
function fakeServer(options: { refreshDelayMs?: number; refreshError?: string } = {}) {
  let generation = 1;
  const calls = { refresh: 0, api: 0, revoke: 0 };
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = String(input);
    if (url === TOKEN_URL) {
      const form = new URLSearchParams(String(init?.body));
      if (form.get("grant_type") === "password") {
        return Response.json({ access_token: `access-${generation}`, refresh_token: `refresh-${generation}`, token_type: "Bearer", expires_in: 300 });
      }
      calls.refresh += 1;
      if (options.refreshDelayMs) await new Promise((resolve) => setTimeout(resolve, options.refreshDelayMs));
      if (options.refreshError) return Response.json({ error: options.refreshError }, { status: 400 });
      if (form.get("refresh_token") !== `refresh-${generation}`) return Response.json({ error: "invalid_grant" }, { status: 400 });
      generation += 1;
      return Response.json({ access_token: `access-${generation}`, refresh_token: `refresh-${generation}`, token_type: "Bearer", expires_in: 300 });
    }
    if (url === `${TOKEN_URL}/revoke`) {
      calls.revoke += 1;
      return new Response(null, { status: 200 });
    }
    calls.api += 1;
    const auth = new Headers(init?.headers).get("authorization");
    return auth === `Bearer access-${generation}` ? Response.json({ ok: true }) : new Response(null, { status: 401 });
  };
  return {
    fetch: fetchImpl,
    calls,
    rotate: () => {
      generation += 1;
    },
  };
}

describe("createTokenClient", () => {
  it("signs in with a password grant and sends the bearer token", async () => {
    const server = fakeServer();
    const client = createTokenClient({ tokenUrl: TOKEN_URL, fetch: server.fetch });
    await client.signInWithPassword("a@example.com", "pw");
    const response = await client.fetch(API);
    expect(response.status).toBe(200);
    expect(server.calls.refresh).toBe(0);
  });

  it("refreshes once for many concurrent 401s and retries each request once", async () => {
    const server = fakeServer({ refreshDelayMs: 20 });
    const storage = memoryStorage();
    const client = createTokenClient({ tokenUrl: TOKEN_URL, fetch: server.fetch, storage });
    await client.signInWithPassword("a@example.com", "pw");
    // Server-side rotation (e.g. another device): the stored access token is now refused.
    server.rotate();
    await storage.set({ accessToken: "access-stale", refreshToken: "refresh-2", expiresAt: Date.now() + 60_000 });
    const responses = await Promise.all(Array.from({ length: 8 }, () => client.fetch(API)));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(server.calls.refresh).toBe(1);
    expect(server.calls.api).toBe(16);
    expect((await storage.get())?.accessToken).toBe("access-3");
  });

  it("retries only once: a second 401 is returned to the caller", async () => {
    const server = fakeServer();
    const client = createTokenClient({
      tokenUrl: TOKEN_URL,
      fetch: async (input, init) => (String(input) === API ? new Response(null, { status: 401 }) : server.fetch(input, init)),
    });
    await client.signInWithPassword("a@example.com", "pw");
    const response = await client.fetch(API);
    expect(response.status).toBe(401);
    expect(server.calls.refresh).toBe(1);
  });

  it("refreshes ahead of expiry instead of sending an expired token", async () => {
    const server = fakeServer();
    let now = 1_000_000;
    const client = createTokenClient({ tokenUrl: TOKEN_URL, fetch: server.fetch, now: () => now });
    await client.signInWithPassword("a@example.com", "pw");
    now += 295_000;
    expect(await client.getAccessToken()).toBe("access-2");
    expect(server.calls.refresh).toBe(1);
  });

  it("clears storage on invalid_grant and reports the stable code", async () => {
    const server = fakeServer({ refreshError: "invalid_grant" });
    const storage = memoryStorage();
    const client = createTokenClient({ tokenUrl: TOKEN_URL, fetch: server.fetch, storage });
    await client.signInWithPassword("a@example.com", "pw");
    await expect(client.refresh()).rejects.toMatchObject({ code: "invalid_grant", status: 400 });
    expect(await storage.get()).toBeNull();
  });

  it("revokes the refresh token on sign-out", async () => {
    const server = fakeServer();
    const storage = memoryStorage();
    const client = createTokenClient({ tokenUrl: TOKEN_URL, fetch: server.fetch, storage });
    await client.signInWithPassword("a@example.com", "pw");
    await client.signOut();
    expect(server.calls.revoke).toBe(1);
    expect(await storage.get()).toBeNull();
    expect(await client.getAccessToken()).toBeNull();
  });
});
