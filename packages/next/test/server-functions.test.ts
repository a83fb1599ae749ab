import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { form, redirectOf, request, resetRequest } from "./next-mocks.js";
import { closedPort, startJsonUpstream, type JsonAnswer, type Received } from "./upstream-server.js";

vi.mock("next/headers", async () => (await import("./next-mocks.js")).nextHeaders);
vi.mock("next/navigation", async () => (await import("./next-mocks.js")).nextNavigation);
vi.mock("react", () => ({ cache: <T>(fn: T) => fn }));

const { createTessera } = await import("../src/server/tessera.js");
const { defineAuthPaths } = await import("../src/paths.js");

const ORIGIN = "http://localhost:3000";
const USER = { id: "u1", email: "a@example.com", name: "A", email_verified: false, roles: [], created_at: "2026-01-01T00:00:00Z" };
const SESSION = { id: "s1", created_at: "x", expires_at: "y", absolute_expires_at: "z" };
let respond: (request: Received) => JsonAnswer;
let upstream: Awaited<ReturnType<typeof startJsonUpstream>>;

beforeAll(async () => {
  upstream = await startJsonUpstream((received) => respond(received));
});
afterAll(() => upstream.close());
beforeEach(() => {
  resetRequest({ origin: ORIGIN, "sec-fetch-site": "same-origin", "user-agent": "Browser/1" });
});

function tessera() {
  return createTessera({ serverUrl: upstream.url, bffKey: "k", afterSignInPath: "/dashboard" });
}

const loginCookies: [string, string][] = [
  ["content-type", "application/json"],
  ["set-cookie", "__Host-tessera_session=tok; Max-Age=100; Path=/; Secure; HttpOnly; SameSite=Strict"],
  ["set-cookie", "__Host-tessera_csrf=c1; Max-Age=100; Path=/; Secure; SameSite=Strict"],
];

describe("signIn", () => {
  it("posts the credentials with the browser's intent headers, applies cookies, redirects to a safe next", async () => {
    respond = () => ({ status: 200, headers: loginCookies, body: { user: USER, session: SESSION } });
    const url = await redirectOf(tessera().signIn({ status: "idle" }, form({ email: "a@example.com", password: "pw12345678", next: "/account/sessions" })));
    expect(url).toBe("/account/sessions");
    const sent = upstream.received.at(-1);
    expect(sent?.url).toBe("/v1/login");
    expect(JSON.parse(sent?.body ?? "")).toEqual({ email: "a@example.com", password: "pw12345678" });
    expect(sent?.headers).toMatchObject({ origin: ORIGIN, "sec-fetch-site": "same-origin", "tessera-bff-key": "k", "content-type": "application/json" });
    expect(request.jar.get("__Host-tessera_session")).toMatchObject({ value: "tok", httpOnly: true, secure: true, sameSite: "strict", path: "/" });
    expect(request.jar.get("__Host-tessera_csrf")).toMatchObject({ value: "c1", secure: true, sameSite: "strict" });
  });

  it.each(["//evil.example", "/.//evil.example/steal", "/%2e//evil.example", "/a/..//evil.example", "/%5Cevil.example", "/\t/evil.example"])(
    "never redirects off-site (next=%j)",
    async (next) => {
      respond = () => ({ status: 200, headers: loginCookies, body: { user: USER, session: SESSION } });
      const url = await redirectOf(tessera().signIn({ status: "idle" }, form({ email: "a@example.com", password: "x", next })));
      expect(url).toBe("/dashboard");
    },
  );

  it("returns a form error for bad credentials, keeping the email but not the password", async () => {
    respond = () => ({ status: 401, headers: [["content-type", "application/problem+json"]], body: { type: "about:blank", title: "Unauthorized", status: 401, code: "invalid_credentials" } });
    const state = await tessera().signIn({ status: "idle" }, form({ email: "a@example.com", password: "wrong-password" }));
    expect(state).toEqual({ status: "error", code: "invalid_credentials", message: "Email or password is incorrect.", values: { email: "a@example.com" } });
  });

  it("says an unverified address must be verified first, keeping the email for a resend form", async () => {
    respond = () => ({ status: 403, body: { type: "urn:tessera:error:email_not_verified", title: "Forbidden", status: 403, code: "email_not_verified" } });
    const state = await tessera().signIn({ status: "idle" }, form({ email: "a@example.com", password: "pw12345678" }));
    expect(state).toEqual({ status: "error", code: "email_not_verified", message: expect.stringMatching(/^Verify your email address first/), values: { email: "a@example.com" } });
    expect(request.jar.size).toBe(0);
  });

  it("reports empty fields without calling tessera", async () => {
    const before = upstream.received.length;
    const state = await tessera().signIn({ status: "idle" }, form({ email: "", password: "" }));
    expect(state.fieldErrors).toEqual({ email: "Email is required.", password: "Password is required." });
    expect(upstream.received.length).toBe(before);
  });
});

describe("signUp", () => {
  it("maps validation problems to field errors", async () => {
    respond = () => ({
      status: 422,
      body: { type: "about:blank", title: "Unprocessable", status: 422, code: "validation_failed", errors: [{ field: "password", message: "must be at least 8 characters" }] },
    });
    const state = await tessera().signUp({ status: "idle" }, form({ email: "b@example.com", password: "short", name: "B" }));
    expect(state.fieldErrors).toEqual({ password: "Password must be at least 8 characters." });
    expect(state.values).toEqual({ email: "b@example.com", name: "B" });
  });

  it.each(["/.//evil.example/steal", "/a/..//evil.example", "https://evil.example/"])("never redirects off-site (next=%j)", async (next) => {
    respond = () => ({ status: 201, headers: loginCookies, body: { user: USER, session: SESSION } });
    const url = await redirectOf(tessera().signUp({ status: "idle" }, form({ email: "b@example.com", password: "long-enough", next })));
    expect(url).toBe("/dashboard");
  });

  it("says so when tessera's registration policy refuses the sign-up", async () => {
    respond = () => ({ status: 403, body: { type: "urn:tessera:error:registration_closed", title: "Sign-up is closed", status: 403, code: "registration_closed" } });
    const closed = await tessera().signUp({ status: "idle" }, form({ email: "b@example.com", password: "long-enough" }));
    expect(closed.code).toBe("registration_closed");
    expect(closed.message).toMatch(/Sign-up is closed/);
    respond = () => ({ status: 403, body: { type: "urn:tessera:error:email_domain_not_allowed", title: "x", status: 403, code: "email_domain_not_allowed" } });
    const domain = await tessera().signUp({ status: "idle" }, form({ email: "b@evil.test", password: "long-enough" }));
    expect(domain.fieldErrors?.email).toMatch(/domain/);
  });

  it("does not redirect when verification is required and no session was started", async () => {
    respond = () => ({ status: 201, body: { user: USER } });
    const state = await tessera().signUp({ status: "idle" }, form({ email: "b@example.com", password: "long-enough", next: "/dashboard" }));
    expect(state).toMatchObject({ status: "success", code: "verification_sent", message: expect.stringMatching(/sent a link to b@example\.com/), values: { email: "b@example.com" } });
    expect(request.jar.size).toBe(0);
  });

  it("explains a taken email next to the field", async () => {
    respond = () => ({ status: 409, body: { type: "about:blank", title: "Conflict", status: 409, code: "email_taken" } });
    const state = await tessera().signUp({ status: "idle" }, form({ email: "b@example.com", password: "long-enough" }));
    expect(state.fieldErrors?.email).toMatch(/already exists/);
  });
});

describe("changePassword and signOut", () => {
  it("sends X-CSRF-Token from the csrf cookie and applies the new cookies", async () => {
    resetRequest({ origin: ORIGIN }, { "__Host-tessera_session": "old", "__Host-tessera_csrf": "csrf-old" });
    respond = () => ({ status: 204, headers: loginCookies });
    const state = await tessera().changePassword({ status: "idle" }, form({ current_password: "a", new_password: "b" }));
    expect(state.status).toBe("success");
    expect(upstream.received.at(-1)?.headers["x-csrf-token"]).toBe("csrf-old");
    expect(request.jar.get("__Host-tessera_session")?.value).toBe("tok");
  });

  it("sends exactly: the browser's intent, the CSRF header from the cookie, JSON, the BFF key; nothing else of the browser's", async () => {
    resetRequest(
      { origin: ORIGIN, "sec-fetch-site": "same-origin", "user-agent": "Browser/1", accept: "text/html", authorization: "Bearer browser", "x-csrf-token": "from-browser" },
      { "__Host-tessera_session": "old", "__Host-tessera_csrf": "csrf-old", theme: "dark" },
    );
    respond = () => ({ status: 204, headers: loginCookies });
    await tessera().changePassword({ status: "idle" }, form({ current_password: "a", new_password: "b" }));
    const { host, connection, ...sent } = upstream.received.at(-1)?.headers ?? {};
    expect([host, connection]).toEqual([new URL(upstream.url).host, "keep-alive"]);
    expect(sent).toEqual({
      cookie: "__Host-tessera_session=old; __Host-tessera_csrf=csrf-old",
      origin: ORIGIN,
      "sec-fetch-site": "same-origin",
      "user-agent": "Browser/1",
      accept: "application/json",
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(upstream.received.at(-1)?.body ?? "")),
      "x-csrf-token": "csrf-old",
      "tessera-bff-key": "k",
    });
  });

  it("sends the app's origin on an unsafe call from a request without one", async () => {
    resetRequest({}, { "__Host-tessera_session": "old", "__Host-tessera_csrf": "csrf-old" });
    respond = () => ({ status: 204, headers: loginCookies });
    await createTessera({ serverUrl: upstream.url, bffKey: "k", publicOrigin: "https://app.example" }).changePassword(
      { status: "idle" },
      form({ current_password: "a", new_password: "b" }),
    );
    expect(upstream.received.at(-1)?.headers.origin).toBe("https://app.example");
  });

  it("shows a wrong current password next to that field", async () => {
    resetRequest({ origin: ORIGIN }, { "__Host-tessera_session": "s", "__Host-tessera_csrf": "c" });
    respond = () => ({
      status: 422,
      body: { type: "urn:tessera:error:validation_failed", title: "Invalid", status: 422, code: "validation_failed", errors: [{ field: "current_password", message: "is incorrect" }] },
    });
    const state = await tessera().changePassword({ status: "idle" }, form({ current_password: "x", new_password: "long-enough" }));
    expect(state.fieldErrors).toEqual({ current_password: "Current password is incorrect." });
  });

  it.each([
    ["/account/password", "/login?next=%2Faccount%2Fpassword"],
    ["/account?tab=security", "/login?next=%2Faccount%3Ftab%3Dsecurity"],
    ["//evil.example", "/login"],
    ["/.//evil.example/steal", "/login"],
    ["https://evil.example/", "/login"],
    ["", "/login"],
  ])("sends a signed-out browser to sign in, coming back to the form's next when safe (next=%j)", async (next, target) => {
    resetRequest({ origin: ORIGIN }, { "__Host-tessera_session": "gone", "__Host-tessera_csrf": "c" });
    respond = () => ({ status: 401, body: { type: "about:blank", title: "Unauthorized", status: 401, code: "unauthenticated" } });
    const fields = { current_password: "a-password", new_password: "another-password" };
    expect(await redirectOf(tessera().changePassword({ status: "idle" }, form(next === "" ? fields : { ...fields, next })))).toBe(target);
  });

  it("clears the cookies and redirects even when tessera is down", async () => {
    const port = await closedPort();
    resetRequest({ origin: ORIGIN }, { "__Host-tessera_session": "s", "__Host-tessera_csrf": "c" });
    const url = await redirectOf(createTessera({ serverUrl: `http://127.0.0.1:${port}` }).signOut());
    expect(url).toBe("/login");
    expect(request.jar.get("__Host-tessera_session")).toMatchObject({ value: "", maxAge: 0 });
  });
});

describe("getSession and requireUser", () => {
  it("uses cookies applied earlier in the same request, not the stale Cookie header", async () => {
    resetRequest({ cookie: "__Host-tessera_session=before-password-change; theme=dark" }, { "__Host-tessera_session": "after", theme: "dark" });
    respond = () => ({ status: 200, body: { user: USER, session: SESSION } });
    await tessera().getSession();
    expect(upstream.received.at(-1)?.headers.cookie).toBe("__Host-tessera_session=after");
  });

  it("returns null without calling tessera when there is no cookie", async () => {
    const before = upstream.received.length;
    expect(await tessera().getSession()).toBeNull();
    expect(upstream.received.length).toBe(before);
  });

  it("returns the session, without the browser's intent headers", async () => {
    resetRequest({ origin: "https://evil.example", "sec-fetch-site": "cross-site" }, { "__Host-tessera_session": "s" });
    respond = () => ({ status: 200, body: { user: USER, session: SESSION } });
    expect((await tessera().getSession())?.user.email).toBe("a@example.com");
    expect(upstream.received.at(-1)?.headers.origin).toBeUndefined();
    expect(upstream.received.at(-1)?.headers["sec-fetch-site"]).toBeUndefined();
  });

  it("sends tessera exactly its cookies, the user agent, Accept and the BFF key (docs/performance.md: plain objects, not Headers)", async () => {
    resetRequest(
      {
        cookie: "__Host-tessera_session=stale; theme=dark",
        origin: "https://evil.example",
        "sec-fetch-site": "cross-site",
        "user-agent": "Browser/1",
        accept: "text/html",
        authorization: "Bearer browser",
        "content-type": "text/plain",
        "x-csrf-token": "from-browser",
        "x-forwarded-for": "203.0.113.7",
      },
      { "__Host-tessera_session": "s", "__Host-tessera_csrf": "c", "__Host-tessera_empty": "", theme: "dark" },
    );
    respond = () => ({ status: 200, body: { user: USER, session: SESSION } });
    await tessera().getSession();
    const { host, connection, ...sent } = upstream.received.at(-1)?.headers ?? {};
    expect(host).toBe(new URL(upstream.url).host);
    expect(connection).toBe("keep-alive");
    expect(sent).toEqual({
      cookie: "__Host-tessera_session=s; __Host-tessera_csrf=c",
      "user-agent": "Browser/1",
      accept: "application/json",
      "tessera-bff-key": "k",
    });
  });

  it("sends the BFF key as Headers would have (whitespace at the ends dropped) and refuses one with a line break", async () => {
    resetRequest({}, { "__Host-tessera_session": "s" });
    respond = () => ({ status: 200, body: { user: USER, session: SESSION } });
    await createTessera({ serverUrl: upstream.url, bffKey: " k\n" }).getSession();
    expect(upstream.received.at(-1)?.headers["tessera-bff-key"]).toBe("k");
    const before = upstream.received.length;
    await expect(createTessera({ serverUrl: upstream.url, bffKey: "k\nx: y" }).getSession()).rejects.toBeInstanceOf(TypeError);
    expect(upstream.received.length).toBe(before);
  });

  it("treats 401 as signed out and redirects in requireUser", async () => {
    resetRequest({}, { "__Host-tessera_session": "s" });
    respond = () => ({ status: 401, body: { status: 401, code: "unauthenticated", title: "x", type: "about:blank" } });
    expect(await tessera().getSession()).toBeNull();
    expect(await redirectOf(tessera().requireUser("/dashboard"))).toBe("/login?next=%2Fdashboard");
  });

  it("throws a typed error when tessera is down instead of reporting signed out", async () => {
    resetRequest({}, { "__Host-tessera_session": "s" });
    respond = () => ({ status: 503, body: { status: 503, code: "unavailable", title: "x", type: "about:blank" } });
    await expect(tessera().getSession()).rejects.toMatchObject({ code: "upstream_unavailable", status: 503 });
    const port = await closedPort();
    await expect(createTessera({ serverUrl: `http://127.0.0.1:${port}` }).getSession()).rejects.toMatchObject({ code: "upstream_unavailable" });
  });
});

describe("one config for the whole kit", () => {
  it("is resolved once: the route handler and the server functions share it, whichever runs first", async () => {
    resetRequest({}, { "__Host-tessera_session": "s" });
    respond = () => ({ status: 200, body: { user: USER, session: SESSION } });
    const other = await startJsonUpstream(() => ({ status: 200, body: { user: { ...USER, email: "other@example.com" }, session: SESSION } }));
    try {
      // A config that changes after first use shows whether it was resolved again.
      const config = { serverUrl: upstream.url };
      const kit = createTessera(config);
      expect((await kit.getSession())?.user.email).toBe("a@example.com");
      config.serverUrl = other.url;
      const before = other.received.length;
      const response = await kit.handlers.GET(new Request(`${ORIGIN}/api/auth/session`, { headers: { cookie: "__Host-tessera_session=s" } }));
      expect(((await response.json()) as { user: { email: string } }).user.email).toBe("a@example.com");
      expect(await kit.requireUser("/x")).toMatchObject({ email: "a@example.com" });
      expect(other.received.length).toBe(before);

      const reversed = { serverUrl: upstream.url };
      const kit2 = createTessera(reversed);
      await kit2.handlers.GET(new Request(`${ORIGIN}/api/auth/session`));
      reversed.serverUrl = other.url;
      expect((await kit2.getSession())?.user.email).toBe("a@example.com");
      expect(other.received.length).toBe(before);
    } finally {
      await other.close();
    }
  });

  it("is checked on first use, not when created, and fails there as config_invalid", async () => {
    resetRequest({}, { "__Host-tessera_session": "s" });
    const kit = createTessera({ serverUrl: undefined });
    await expect(kit.handlers.GET(new Request(`${ORIGIN}/api/auth/session`))).rejects.toMatchObject({ code: "config_invalid" });
    await expect(kit.getSession()).rejects.toMatchObject({ code: "config_invalid" });
    await expect(createTessera({ serverUrl: upstream.url, paths: { signInPath: "login" } }).getSession()).rejects.toMatchObject({ code: "config_invalid" });
  });

  it("takes its paths from defineAuthPaths: the route handler's base path and every sign-in redirect", async () => {
    const paths = defineAuthPaths({ basePath: "/bff/auth", signInPath: "/sign-in" });
    const kit = createTessera({ serverUrl: upstream.url, paths });
    respond = (received) => ({ status: 200, body: { path: received.url } });
    const response = await kit.handlers.GET(new Request(`${ORIGIN}/bff/auth/sessions`));
    expect(await response.json()).toEqual({ path: "/v1/sessions" });
    expect((await kit.handlers.GET(new Request(`${ORIGIN}/api/auth/sessions`))).status).toBe(404);

    resetRequest({ origin: ORIGIN }, { "__Host-tessera_session": "gone", "__Host-tessera_csrf": "c" });
    respond = () => ({ status: 401, body: { type: "about:blank", title: "Unauthorized", status: 401, code: "unauthenticated" } });
    expect(await redirectOf(kit.requireUser("/dashboard"))).toBe("/sign-in?next=%2Fdashboard");
    expect(await redirectOf(kit.changePassword({ status: "idle" }, form({ current_password: "a", new_password: "b", next: "/account/password" })))).toBe(
      "/sign-in?next=%2Faccount%2Fpassword",
    );
    expect(await redirectOf(kit.signOut())).toBe("/sign-in");
  });
});
