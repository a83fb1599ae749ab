import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { resetClientIpWarning } from "../src/server/client-ip-warning.js";
import { createAuthRouteHandler } from "../src/server/route-handler.js";
import { closedPort, startUpstream } from "./upstream-server.js";

const APP = "http://localhost:3000";
const SESSION = "__Host-tessera_session=abc; Max-Age=7776000; Path=/; Secure; HttpOnly; SameSite=Strict";
const CSRF = "__Host-tessera_csrf=def; Max-Age=7776000; Path=/; Secure; SameSite=Strict";
const OTHER = "legacy=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/";
const OAUTH_SET = "__Host-tessera_oauth=sealed.v1; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Lax";
const OAUTH_CLEAR = "__Host-tessera_oauth=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax";
const BOUNCE =
  '<!doctype html><meta http-equiv="refresh" content="0;url=/dashboard?tab=1"><a href="/dashboard?tab=1">Continue</a>';
const FAILURE = '<!doctype html><meta http-equiv="refresh" content="0;url=/login?error=oauth_state_mismatch"><a href="/login?error=oauth_state_mismatch">Back to sign-in</a>';

let upstream: Awaited<ReturnType<typeof startUpstream>>;

beforeAll(async () => {
  upstream = await startUpstream((request, response) => {
    if (request.url.startsWith("/v1/login")) {
      response.writeHead(200, [
        ["content-type", "application/json"],
        ["cache-control", "no-store"],
        ["set-cookie", SESSION],
        ["set-cookie", CSRF],
        ["set-cookie", OTHER],
        ["x-internal-debug", "secret"],
      ]);
      response.end(JSON.stringify({ user: { id: "u1" }, session: { id: "s1" } }));
    } else if (request.url.startsWith("/v1/oauth/corp/start")) {
      // Points back at this stub: a handler that followed it would show up in `received`.
      response.writeHead(302, [
        ["location", `${upstream.url}/provider/authorize?state=s1&code_challenge=c`],
        ["cache-control", "no-store"],
        ["set-cookie", OAUTH_SET],
      ]);
      response.end();
    } else if (request.url.startsWith("/v1/oauth/corp/callback?code=good")) {
      response.writeHead(200, [
        ["content-type", "text/html; charset=utf-8"],
        ["content-security-policy", "default-src 'none'"],
        ["cache-control", "no-store"],
        ["referrer-policy", "no-referrer"],
        ["set-cookie", SESSION],
        ["set-cookie", CSRF],
        ["set-cookie", OAUTH_CLEAR],
      ]);
      response.end(BOUNCE);
    } else if (request.url.startsWith("/v1/oauth/corp/callback")) {
      const json = request.headers.accept === "application/json";
      response.writeHead(403, [
        ["content-type", json ? "application/problem+json" : "text/html; charset=utf-8"],
        ["content-security-policy", "default-src 'none'"],
        ["cache-control", "no-store"],
        ["set-cookie", OAUTH_CLEAR],
      ]);
      response.end(json ? JSON.stringify({ type: "about:blank", title: "Forbidden", status: 403, code: "oauth_state_mismatch" }) : FAILURE);
    } else if (request.method === "DELETE" && request.url === "/v1/identities/github") {
      response.writeHead(409, { "content-type": "application/problem+json", "cache-control": "no-store" });
      response.end(JSON.stringify({ type: "about:blank", title: "Conflict", status: 409, code: "last_sign_in_method" }));
    } else if (request.method === "DELETE" && request.url.startsWith("/v1/identities/")) {
      response.writeHead(204, { "cache-control": "no-store" });
      response.end();
    } else if (request.url.startsWith("/v1/oauth/github/start")) {
      response.writeHead(302, { location: "https://github.example/authorize?state=x", "cache-control": "no-store" });
      response.end();
    } else if (request.url.startsWith("/v1/register")) {
      response.writeHead(422, { "content-type": "application/problem+json" });
      response.end(JSON.stringify({ type: "about:blank", title: "Unprocessable", status: 422, code: "validation_failed", errors: [{ field: "email", message: "bad" }] }));
    } else if (request.url.startsWith("/v1/logout")) {
      response.writeHead(204, [["set-cookie", "__Host-tessera_session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict"], ["set-cookie", "__Host-tessera_csrf=; Max-Age=0; Path=/; Secure; SameSite=Strict"]]);
      response.end();
    } else {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ path: request.url }));
    }
  });
});
afterAll(() => upstream.close());

function handler(extra: Partial<Parameters<typeof createAuthRouteHandler>[0]> = {}) {
  return createAuthRouteHandler({ serverUrl: upstream.url, bffKey: "the-bff-key", ...extra });
}

describe("route handler: responses", () => {
  it("returns every Set-Cookie separately, unchanged, with status and body", async () => {
    const response = await handler().POST(
      new Request(`${APP}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([SESSION, CSRF, OTHER]);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-internal-debug")).toBeNull();
    expect(await response.json()).toEqual({ user: { id: "u1" }, session: { id: "s1" } });
  });

  it("relays clearing cookies on a 204 without a body", async () => {
    const response = await handler().POST(new Request(`${APP}/api/auth/logout`, { method: "POST" }));
    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()).toHaveLength(2);
    expect(response.body).toBeNull();
  });

  it("relays problem documents unchanged", async () => {
    const response = await handler().POST(new Request(`${APP}/api/auth/register`, { method: "POST", body: "{}" }));
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(((await response.json()) as { code: string }).code).toBe("validation_failed");
  });

  it("passes a 302 through without following it, query string included", async () => {
    const response = await handler().GET(new Request(`${APP}/api/auth/oauth/github/start?return_to=%2Fdashboard`));
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://github.example/authorize?state=x");
    expect(upstream.received.at(-1)?.url).toBe("/v1/oauth/github/start?return_to=%2Fdashboard");
  });

  it.each(["%2F.%2F%2Fevil.example", "%2F%2Fevil.example", "https%3A%2F%2Fevil.example", "%2Fa%2F..%2F%2Fevil.example"])(
    "replaces an unsafe return_to (%s) with / before it reaches tessera",
    async (returnTo) => {
      await handler().GET(new Request(`${APP}/api/auth/oauth/github/start?return_to=${returnTo}`));
      expect(upstream.received.at(-1)?.url).toBe("/v1/oauth/github/start?return_to=%2F");
    },
  );
});

describe("route handler: OAuth", () => {
  const browserCookies = "theme=dark; __Host-tessera_oauth=sealed.v1; analytics=1";

  it("start: 302 and Location passed through unfollowed, the oauth cookie set, return_to's query kept", async () => {
    const before = upstream.received.length;
    const response = await handler().GET(
      new Request(`${APP}/api/auth/oauth/corp/start?return_to=%2Faccount%3Ftab%3D1%26x%3D2`, {
        headers: { cookie: "__Host-tessera_session=tok; __Host-tessera_csrf=c1; theme=dark", accept: "text/html" },
      }),
    );
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`${upstream.url}/provider/authorize?state=s1&code_challenge=c`);
    expect(response.headers.getSetCookie()).toEqual([OAUTH_SET]);
    expect(response.headers.get("cache-control")).toBe("no-store");
    // One request upstream: the redirect was not followed.
    expect(upstream.received.slice(before).map((r) => r.url)).toEqual(["/v1/oauth/corp/start?return_to=%2Faccount%3Ftab%3D1%26x%3D2"]);
    // A signed-in browser's session reaches tessera, so the flow links instead of signing in.
    expect(upstream.received.at(-1)?.headers.cookie).toBe("__Host-tessera_session=tok; __Host-tessera_csrf=c1");
  });

  it("callback: the query string verbatim and the oauth cookie reach tessera; the bounce page comes back whole", async () => {
    const query = "?code=good%2Bcode%2F1&state=st%3D%3D&iss=http%3A%2F%2F127.0.0.1%3A9000";
    const response = await handler().GET(
      new Request(`${APP}/api/auth/oauth/corp/callback${query}`, {
        headers: { cookie: browserCookies, accept: "text/html,application/xhtml+xml", "sec-fetch-site": "cross-site", "user-agent": "Browser/2" },
      }),
    );
    const sent = upstream.received.at(-1);
    expect(sent?.method).toBe("GET");
    expect(sent?.url).toBe(`/v1/oauth/corp/callback${query}`);
    expect(sent?.headers.cookie).toBe("__Host-tessera_oauth=sealed.v1");
    expect(sent?.headers["sec-fetch-site"]).toBe("cross-site");
    expect(sent?.headers["tessera-bff-key"]).toBe("the-bff-key");
    expect(sent?.body).toBe("");

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.getSetCookie()).toEqual([SESSION, CSRF, OAUTH_CLEAR]);
    expect(await response.text()).toBe(BOUNCE);
  });

  it("callback failure: the status, the HTML page pointing at /login?error= and the cleared cookie pass through", async () => {
    const response = await handler().GET(
      new Request(`${APP}/api/auth/oauth/corp/callback?code=x&state=forged`, { headers: { cookie: browserCookies, accept: "text/html" } }),
    );
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'");
    expect(response.headers.getSetCookie()).toEqual([OAUTH_CLEAR]);
    expect(await response.text()).toBe(FAILURE);
  });

  it("callback failure asked for JSON: Accept is forwarded and the problem comes back", async () => {
    const response = await handler().GET(
      new Request(`${APP}/api/auth/oauth/corp/callback?code=x&state=forged`, { headers: { accept: "application/json" } }),
    );
    expect(upstream.received.at(-1)?.headers.accept).toBe("application/json");
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ status: 403, code: "oauth_state_mismatch" });
  });

  it("identities: GET lists with the session cookie; DELETE unlinks with the CSRF header and Origin", async () => {
    const cookie = "__Host-tessera_session=tok; __Host-tessera_csrf=c1";
    await handler().GET(new Request(`${APP}/api/auth/identities`, { headers: { cookie } }));
    expect(upstream.received.at(-1)).toMatchObject({ method: "GET", url: "/v1/identities", headers: { cookie } });

    const deleted = await handler().DELETE(
      new Request(`${APP}/api/auth/identities/acme`, { method: "DELETE", headers: { cookie, "x-csrf-token": "c1", origin: APP } }),
    );
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeNull();
    expect(upstream.received.at(-1)).toMatchObject({
      method: "DELETE",
      url: "/v1/identities/acme",
      headers: { cookie, "x-csrf-token": "c1", origin: APP },
    });

    const refused = await handler().DELETE(
      new Request(`${APP}/api/auth/identities/github`, { method: "DELETE", headers: { cookie, "x-csrf-token": "c1", origin: APP } }),
    );
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: "last_sign_in_method" });
  });

  it.each(["/api/auth/oauth/Acme/start", "/api/auth/oauth/-acme/start", "/api/auth/oauth/corp/finish", "/api/auth/oauth/acme", "/api/auth/identities/acme/x", "/api/auth/identities/ac%2Fme", `/api/auth/oauth/${"a".repeat(65)}/start`])(
    "refuses %s without calling tessera",
    async (path) => {
      const before = upstream.received.length;
      expect((await handler().GET(new Request(`${APP}${path}`))).status).toBe(404);
      expect(upstream.received.length).toBe(before);
    },
  );
});

describe("route handler: request headers", () => {
  it("forwards only the allow-listed headers and adds the BFF key", async () => {
    const request = new Request(`${APP}/api/auth/sessions`, {
      headers: {
        cookie: "theme=dark; __Host-tessera_session=tok; __Host-tessera_csrf=c1; analytics=xyz",
        "x-csrf-token": "c1",
        origin: APP,
        "sec-fetch-site": "same-origin",
        "user-agent": "UnitTest/1.0",
        accept: "application/json",
        authorization: "Bearer s",
        "x-middleware-subrequest": "proxy:proxy:proxy:proxy:proxy",
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-host": "evil.example",
        "tessera-bff-key": "forged",
        "tessera-client-ip": "198.51.100.1",
        "x-custom": "nope",
      },
    });
    const response = await handler().GET(request);
    expect(response.status).toBe(200);
    const headers = upstream.received.at(-1)?.headers ?? {};
    expect(headers.cookie).toBe("__Host-tessera_session=tok; __Host-tessera_csrf=c1");
    expect(headers["x-csrf-token"]).toBe("c1");
    expect(headers.origin).toBe(APP);
    expect(headers["sec-fetch-site"]).toBe("same-origin");
    expect(headers["user-agent"]).toBe("UnitTest/1.0");
    expect(headers.authorization).toBe("Bearer s");
    expect(headers["tessera-bff-key"]).toBe("the-bff-key");
    for (const dropped of ["x-middleware-subrequest", "x-forwarded-for", "x-forwarded-host", "tessera-client-ip", "x-custom"]) {
      expect(headers[dropped], dropped).toBeUndefined();
    }
  });

  it("sends Tessera-Client-Ip from the trusted header only when configured", async () => {
    const request = () => new Request(`${APP}/api/auth/session`, { headers: { "x-forwarded-for": "198.51.100.7, 203.0.113.9" } });
    await handler({ trustedIpHeader: "x-forwarded-for", trustedProxyCount: 1 }).GET(request());
    expect(upstream.received.at(-1)?.headers["tessera-client-ip"]).toBe("203.0.113.9");
    await handler({ trustedIpHeader: "x-forwarded-for", trustedProxyCount: 2 }).GET(request());
    expect(upstream.received.at(-1)?.headers["tessera-client-ip"]).toBe("198.51.100.7");
    await handler({ trustedIpHeader: "x-forwarded-for", trustedProxyCount: 1 }).GET(
      new Request(`${APP}/api/auth/session`, { headers: { "x-forwarded-for": "not-an-ip" } }),
    );
    expect(upstream.received.at(-1)?.headers["tessera-client-ip"]).toBeUndefined();
  });
});

describe("route handler: client IP", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    resetClientIpWarning();
  });

  it("reads the named header case-insensitively and sends an IPv4-mapped address as IPv4", async () => {
    await handler({ trustedIpHeader: "X-Forwarded-For", trustedProxyCount: 1 }).GET(new Request(`${APP}/api/auth/session`, { headers: { "x-forwarded-for": "::ffff:127.0.0.1" } }));
    expect(upstream.received.at(-1)?.headers["tessera-client-ip"]).toBe("127.0.0.1");
  });

  it("refuses a trustedProxyCount that is not an integer ≥ 1", async () => {
    for (const trustedProxyCount of [Number.NaN, 0, 1.5, -1]) {
      await expect(handler({ trustedIpHeader: "x-forwarded-for", trustedProxyCount }).GET(new Request(`${APP}/api/auth/session`))).rejects.toMatchObject({
        code: "config_invalid",
      });
    }
  });

  it("warns once per process in production when no client IP can be determined", async () => {
    vi.stubEnv("NODE_ENV", "production");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await handler({ trustedIpHeader: "x-forwarded-for", trustedProxyCount: 1 }).GET(new Request(`${APP}/api/auth/session`, { headers: { "x-forwarded-for": "1.2.3.4" } }));
    expect(warn).not.toHaveBeenCalled();
    await handler().GET(new Request(`${APP}/api/auth/session`));
    await handler({ trustedIpHeader: "x-forwarded-for", trustedProxyCount: 1 }).GET(new Request(`${APP}/api/auth/session`));
    await handler().POST(new Request(`${APP}/api/auth/login`, { method: "POST", body: "{}" }));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/client IP.*trustedIpHeader is not configured/);
  });

  it("stays quiet outside production", async () => {
    vi.stubEnv("NODE_ENV", "development");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await handler().GET(new Request(`${APP}/api/auth/session`));
    expect(warn).not.toHaveBeenCalled();
  });
});

describe("route handler: path allow-list", () => {
  it.each([
    ["/api/auth/session", "/v1/session"],
    ["/api/auth/sessions/Ab_3-x", "/v1/sessions/Ab_3-x"],
    ["/api/auth/token/revoke", "/v1/token/revoke"],
    ["/api/auth/identities/github", "/v1/identities/github"],
    ["/api/auth/account/activity", "/v1/account/activity"],
    ["/api/auth/oauth/acme/callback?code=1&state=2", "/v1/oauth/acme/callback?code=1&state=2"],
  ])("maps %s to %s", async (path, expected) => {
    const response = await handler().GET(new Request(`${APP}${path}`));
    expect(response.status).toBe(200);
    expect(upstream.received.at(-1)?.url).toBe(expected);
  });

  it.each([
    ["POST", "/api/auth/password/forgot", "/v1/password/forgot"],
    ["POST", "/api/auth/password/reset", "/v1/password/reset"],
    ["POST", "/api/auth/email/verify", "/v1/email/verify"],
    ["POST", "/api/auth/email/verify/send", "/v1/email/verify/send"],
    ["POST", "/api/auth/email/verify/resend", "/v1/email/verify/resend"],
    ["POST", "/api/auth/email/change", "/v1/email/change"],
    ["POST", "/api/auth/email/change/confirm", "/v1/email/change/confirm"],
    ["PATCH", "/api/auth/user", "/v1/user"],
    ["DELETE", "/api/auth/user", "/v1/user"],
  ] as const)("forwards the account endpoint %s %s to %s with its body", async (method, path, expected) => {
    const response = await handler()[method](new Request(`${APP}${path}`, { method, headers: { "content-type": "application/json" }, body: '{"k":"v"}' }));
    expect(response.status).toBe(200);
    expect(upstream.received.at(-1)).toMatchObject({ method, url: expected, body: '{"k":"v"}' });
  });

  it.each([
    "/api/auth/healthz",
    "/api/auth/metrics",
    "/api/auth/openapi.json",
    "/api/auth/sessions/a/b",
    "/api/auth/sessions/..%2F..%2Fmetrics",
    "/api/auth/sessions/%2E%2E",
    "/api/auth/users",
    "/api/auth/user/x",
    "/api/auth/email",
    "/api/auth/email/verify/x",
    "/api/auth/password/forgot/x",
    "/api/auth/",
    "/api/other/session",
    "/api/auth/oauth/github/../../metrics",
  ])("refuses %s with a 404 problem and never calls tessera", async (path) => {
    const before = upstream.received.length;
    const response = await handler().GET(new Request(`${APP}${path}`));
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(((await response.json()) as { code: string }).code).toBe("not_found");
    expect(upstream.received.length).toBe(before);
  });

  it("refuses bodies over 64 KiB with 413", async () => {
    const response = await handler().POST(
      new Request(`${APP}/api/auth/login`, { method: "POST", body: "x".repeat(64 * 1024 + 1) }),
    );
    expect(response.status).toBe(413);
  });

  it("answers 413 to a 10 MB streamed body without Content-Length, reading little of it", async () => {
    const chunk = new Uint8Array(1024).fill(120);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (pulled >= 10 * 1024 * 1024) return controller.close();
          pulled += chunk.byteLength;
          controller.enqueue(chunk.slice());
        },
      },
      { highWaterMark: 0 },
    );
    const request = new Request(`${APP}/api/auth/login`, { method: "POST", body, duplex: "half" } as RequestInit);
    expect(request.headers.get("content-length")).toBeNull();
    const before = upstream.received.length;
    const response = await handler().POST(request);
    expect(response.status).toBe(413);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ status: 413, code: "payload_too_large" });
    expect(pulled).toBeLessThan(70 * 1024);
    expect(upstream.received.length).toBe(before);
  });

  it("answers 413 from a large Content-Length before reading, and ignores a bogus one", async () => {
    const big = new Request(`${APP}/api/auth/login`, { method: "POST", headers: { "content-length": "999999999" }, body: "{}" });
    expect((await handler().POST(big)).status).toBe(413);
    const bogus = new Request(`${APP}/api/auth/login`, { method: "POST", headers: { "content-length": "lots" }, body: "x".repeat(64 * 1024 + 1) });
    expect((await handler().POST(bogus)).status).toBe(413);
  });

  it("relays a body of exactly 64 KiB", async () => {
    const response = await handler().POST(new Request(`${APP}/api/auth/password`, { method: "POST", body: "y".repeat(64 * 1024) }));
    expect(response.status).toBe(200);
    expect(upstream.received.at(-1)?.body).toHaveLength(64 * 1024);
  });
});

describe("route handler: tessera down", () => {
  it("answers 503 problem+json when tessera does not answer in time", async () => {
    const silent = await startUpstream(() => {
      /* never answers */
    });
    try {
      const started = Date.now();
      const response = await createAuthRouteHandler({ serverUrl: silent.url, timeoutMs: 200 }).GET(new Request(`${APP}/api/auth/session`));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(response.status).toBe(503);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(response.headers.get("retry-after")).toBe("1");
      expect(await response.json()).toMatchObject({ status: 503, code: "upstream_timeout" });
    } finally {
      await silent.close();
    }
  });

  it("answers 503 problem+json when tessera is not listening", async () => {
    const port = await closedPort();
    const response = await createAuthRouteHandler({ serverUrl: `http://127.0.0.1:${port}` }).POST(
      new Request(`${APP}/api/auth/login`, { method: "POST", body: "{}" }),
    );
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 503, code: "upstream_unavailable" });
  });

  it("reports a missing server URL as config_invalid", async () => {
    await expect(createAuthRouteHandler({ serverUrl: undefined }).GET(new Request(`${APP}/api/auth/session`))).rejects.toMatchObject({
      code: "config_invalid",
    });
  });
});
