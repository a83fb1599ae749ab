import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { form, redirectOf, request, resetRequest } from "./next-mocks.js";
import { closedPort, startJsonUpstream, type JsonAnswer, type Received } from "./upstream-server.js";

vi.mock("next/headers", async () => (await import("./next-mocks.js")).nextHeaders);
vi.mock("next/navigation", async () => (await import("./next-mocks.js")).nextNavigation);
vi.mock("next/cache", () => ({ refresh: vi.fn() }));
vi.mock("react", () => ({ cache: <T>(fn: T) => fn }));

const { refresh } = await import("next/cache");
const { createTessera } = await import("../src/server/tessera.js");

const ORIGIN = "http://localhost:3000";
const USER = { id: "u1", email: "a@example.com", name: "A", email_verified: true, roles: [], created_at: "2026-01-01T00:00:00Z" };
const SESSION = { id: "s1", created_at: "x", expires_at: "y", absolute_expires_at: "z" };
let respond: (request: Received) => JsonAnswer;
let upstream: Awaited<ReturnType<typeof startJsonUpstream>>;

beforeAll(async () => {
  upstream = await startJsonUpstream((received) => respond(received));
});
afterAll(() => upstream.close());
beforeEach(() => {
  vi.mocked(refresh).mockClear();
  resetRequest(
    { origin: ORIGIN, "sec-fetch-site": "same-origin", "user-agent": "Browser/1" },
    { "__Host-tessera_session": "tok", "__Host-tessera_csrf": "csrf-1" },
  );
});

function tessera(serverUrl = upstream.url) {
  return createTessera({ serverUrl, bffKey: "k", afterSignInPath: "/dashboard" });
}

const idle = { status: "idle" } as const;
const problem = (status: number, code: string, errors?: { field: string; message: string }[]) => ({
  status,
  headers: [["content-type", "application/problem+json"]] as [string, string][],
  body: { type: `urn:tessera:error:${code}`, title: "x", status, code, ...(errors ? { errors } : {}) },
});
const accepted: JsonAnswer = { status: 202, headers: [] };
const sent = () => upstream.received.at(-1);
const sentJson = () => JSON.parse(sent()?.body ?? "null") as unknown;

/** Every action reports an unreachable tessera as a form state, never a crashed page. */
describe("tessera unreachable", () => {
  it.each([
    ["requestPasswordReset", { email: "a@example.com" }],
    ["resetPassword", { token: "t", new_password: "long-enough-1" }],
    ["verifyEmail", { token: "t" }],
    ["resendVerification", {}],
    ["changeEmail", { new_email: "b@example.com", current_password: "pw" }],
    ["confirmEmailChange", { token: "t" }],
    ["updateProfile", { name: "B" }],
    ["deleteAccount", { current_password: "pw", confirm: "yes" }],
  ] as const)("%s answers upstream_unavailable", async (action, fields) => {
    const kit = tessera(`http://127.0.0.1:${await closedPort()}`);
    const state = await kit[action](idle, form(fields));
    expect(state).toMatchObject({ status: "error", code: "upstream_unavailable" });
  });
});

describe("requestPasswordReset", () => {
  it("posts the email with the browser's intent and says the same thing whether or not an account exists", async () => {
    respond = () => accepted;
    const state = await tessera().requestPasswordReset(idle, form({ email: "nobody@example.com" }));
    expect(sent()?.method).toBe("POST");
    expect(sent()?.url).toBe("/v1/password/forgot");
    expect(sentJson()).toEqual({ email: "nobody@example.com" });
    expect(sent()?.headers).toMatchObject({ origin: ORIGIN, "sec-fetch-site": "same-origin", "tessera-bff-key": "k" });
    expect(state).toEqual({ status: "success", message: expect.stringMatching(/^If an account exists/), values: { email: "nobody@example.com" } });
  });

  it("reports an empty email without calling tessera", async () => {
    const before = upstream.received.length;
    const state = await tessera().requestPasswordReset(idle, form({ email: " " }));
    expect(state.fieldErrors).toEqual({ email: "Email is required." });
    expect(upstream.received.length).toBe(before);
  });

  it("shows tessera's syntax check next to the field and a rate limit for the form", async () => {
    respond = () => problem(422, "validation_failed", [{ field: "email", message: "is not a valid email address" }]);
    const invalid = await tessera().requestPasswordReset(idle, form({ email: "not-an-email" }));
    expect(invalid).toMatchObject({ status: "error", code: "validation_failed", fieldErrors: { email: "Email is not a valid email address." }, values: { email: "not-an-email" } });
    respond = () => problem(429, "rate_limited");
    const limited = await tessera().requestPasswordReset(idle, form({ email: "a@example.com" }));
    expect(limited).toMatchObject({ status: "error", code: "rate_limited", message: expect.stringMatching(/Too many attempts/) });
  });
});

describe("resetPassword", () => {
  const resetCookies: [string, string][] = [
    ["content-type", "application/json"],
    ["set-cookie", "__Host-tessera_session=new-tok; Max-Age=100; Path=/; Secure; HttpOnly; SameSite=Strict"],
    ["set-cookie", "__Host-tessera_csrf=new-csrf; Max-Age=100; Path=/; Secure; SameSite=Strict"],
  ];

  it("posts token and new password, applies the new session's cookies and redirects to a safe next", async () => {
    resetRequest({ origin: ORIGIN });
    respond = () => ({ status: 200, headers: resetCookies, body: { user: USER, session: SESSION } });
    const url = await redirectOf(tessera().resetPassword(idle, form({ token: "mail-token", new_password: "a new password", next: "/account" })));
    expect(url).toBe("/account");
    expect(sent()?.url).toBe("/v1/password/reset");
    expect(sentJson()).toEqual({ token: "mail-token", new_password: "a new password" });
    expect(request.jar.get("__Host-tessera_session")).toMatchObject({ value: "new-tok", httpOnly: true, secure: true, sameSite: "strict", path: "/" });
    expect(request.jar.get("__Host-tessera_csrf")).toMatchObject({ value: "new-csrf" });
  });

  it.each(["//evil.example", "/.//evil.example/steal", "https://evil.example/", ""])("redirects to afterSignInPath for next=%j", async (next) => {
    respond = () => ({ status: 200, headers: resetCookies, body: { user: USER, session: SESSION } });
    const fields = { token: "t", new_password: "a new password" };
    expect(await redirectOf(tessera().resetPassword(idle, form(next === "" ? fields : { ...fields, next })))).toBe("/dashboard");
  });

  it("says the link is no good for invalid_token, and applies no cookie", async () => {
    resetRequest({ origin: ORIGIN });
    respond = () => problem(400, "invalid_token");
    const state = await tessera().resetPassword(idle, form({ token: "used", new_password: "a new password" }));
    expect(state).toMatchObject({ status: "error", code: "invalid_token", message: expect.stringMatching(/invalid, has expired or was already used/) });
    expect(request.jar.size).toBe(0);
  });

  it("shows a weak new password next to its field", async () => {
    respond = () => problem(422, "validation_failed", [{ field: "new_password", message: "must be at least 8 characters" }]);
    const state = await tessera().resetPassword(idle, form({ token: "t", new_password: "short" }));
    expect(state.fieldErrors).toEqual({ new_password: "New password must be at least 8 characters." });
  });

  it("checks the form before calling tessera: no token, no new password", async () => {
    const before = upstream.received.length;
    expect(await tessera().resetPassword(idle, form({ new_password: "a new password" }))).toMatchObject({ code: "invalid_token" });
    expect((await tessera().resetPassword(idle, form({ token: "t", new_password: "" }))).fieldErrors).toEqual({ new_password: "New password is required." });
    expect(upstream.received.length).toBe(before);
  });
});

describe("verifyEmail", () => {
  it("posts the token, refreshes the page's data and names the verified address", async () => {
    respond = () => ({ status: 200, body: { user: USER } });
    const state = await tessera().verifyEmail(idle, form({ token: "verify-token" }));
    expect(sent()?.url).toBe("/v1/email/verify");
    expect(sentJson()).toEqual({ token: "verify-token" });
    expect(state).toEqual({ status: "success", message: "a@example.com is verified." });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("reports invalid_token without refreshing", async () => {
    respond = () => problem(400, "invalid_token");
    const state = await tessera().verifyEmail(idle, form({ token: "expired" }));
    expect(state).toMatchObject({ status: "error", code: "invalid_token" });
    expect(refresh).not.toHaveBeenCalled();
  });
});

describe("resendVerification", () => {
  it("signed in (no email field): POST /v1/email/verify/send with the CSRF header and no body", async () => {
    respond = () => accepted;
    const state = await tessera().resendVerification(idle, form({}));
    expect(sent()?.url).toBe("/v1/email/verify/send");
    expect(sent()?.headers["x-csrf-token"]).toBe("csrf-1");
    expect(sent()?.body).toBe("");
    expect(state.status).toBe("success");
  });

  it("says when the hourly limit is reached", async () => {
    respond = () => problem(429, "rate_limited");
    const state = await tessera().resendVerification(idle, form({}));
    expect(state).toMatchObject({ status: "error", code: "rate_limited", message: expect.stringMatching(/in an hour/) });
  });

  it("sends a signed-out browser to sign in, coming back to next", async () => {
    respond = () => problem(401, "unauthenticated");
    expect(await redirectOf(tessera().resendVerification(idle, form({ next: "/dashboard" })))).toBe("/login?next=%2Fdashboard");
  });

  it("with an email field: POST /v1/email/verify/resend {email}, the same success for any address", async () => {
    resetRequest({ origin: ORIGIN });
    respond = () => accepted;
    const state = await tessera().resendVerification(idle, form({ email: "a@example.com" }));
    expect(sent()?.url).toBe("/v1/email/verify/resend");
    expect(sentJson()).toEqual({ email: "a@example.com" });
    expect(state).toEqual({ status: "success", message: expect.stringMatching(/^If that address is waiting/), values: { email: "a@example.com" } });
  });

  it("with an empty email field: a field error, not the signed-in path", async () => {
    const before = upstream.received.length;
    const state = await tessera().resendVerification(idle, form({ email: "" }));
    expect(state.fieldErrors).toEqual({ email: "Email is required." });
    expect(upstream.received.length).toBe(before);
  });
});

describe("changeEmail", () => {
  it("posts the new address and current password with the CSRF header", async () => {
    respond = () => accepted;
    const state = await tessera().changeEmail(idle, form({ new_email: "b@example.com", current_password: "pw-123456" }));
    expect(sent()?.url).toBe("/v1/email/change");
    expect(sentJson()).toEqual({ new_email: "b@example.com", current_password: "pw-123456" });
    expect(sent()?.headers["x-csrf-token"]).toBe("csrf-1");
    expect(state).toEqual({ status: "success", message: expect.stringMatching(/^We sent a link to b@example\.com\./) });
  });

  it("puts tessera's field errors next to the fields, keeping the new address", async () => {
    respond = () => problem(422, "validation_failed", [{ field: "current_password", message: "is incorrect" }]);
    const wrong = await tessera().changeEmail(idle, form({ new_email: "b@example.com", current_password: "wrong" }));
    expect(wrong).toMatchObject({ fieldErrors: { current_password: "Current password is incorrect." }, values: { new_email: "b@example.com" } });
    respond = () => problem(422, "validation_failed", [{ field: "new_email", message: "is the current address" }]);
    const same = await tessera().changeEmail(idle, form({ new_email: "a@example.com", current_password: "pw" }));
    expect(same.fieldErrors).toEqual({ new_email: "New email is the current address." });
  });

  it.each([
    [409, "email_taken", /already exists/],
    [403, "email_domain_not_allowed", /domain/],
  ])("explains %i %s next to the new address", async (status, code, message) => {
    respond = () => problem(status, code);
    const state = await tessera().changeEmail(idle, form({ new_email: "b@example.com", current_password: "pw" }));
    expect(state.code).toBe(code);
    expect(state.fieldErrors?.new_email).toMatch(message);
  });

  it("checks both fields before calling tessera", async () => {
    const before = upstream.received.length;
    const state = await tessera().changeEmail(idle, form({ new_email: "", current_password: "" }));
    expect(state.fieldErrors).toEqual({ new_email: "New email is required.", current_password: "Current password is required." });
    expect(upstream.received.length).toBe(before);
  });

  it("sends a signed-out browser to sign in", async () => {
    respond = () => problem(401, "unauthenticated");
    const url = await redirectOf(tessera().changeEmail(idle, form({ new_email: "b@example.com", current_password: "pw", next: "/account" })));
    expect(url).toBe("/login?next=%2Faccount");
  });
});

describe("confirmEmailChange", () => {
  it("posts the token, refreshes and names the new address", async () => {
    respond = () => ({ status: 200, body: { user: { ...USER, email: "b@example.com" } } });
    const state = await tessera().confirmEmailChange(idle, form({ token: "change-token" }));
    expect(sent()?.url).toBe("/v1/email/change/confirm");
    expect(sentJson()).toEqual({ token: "change-token" });
    expect(state).toEqual({ status: "success", message: "Your email address is now b@example.com." });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it.each([
    [400, "invalid_token", /already used/],
    [409, "email_taken", /taken this address meanwhile/],
  ])("explains %i %s", async (status, code, message) => {
    respond = () => problem(status, code);
    const state = await tessera().confirmEmailChange(idle, form({ token: "t" }));
    expect(state).toMatchObject({ status: "error", code, message: expect.stringMatching(message) });
    expect(refresh).not.toHaveBeenCalled();
  });
});

describe("updateProfile", () => {
  it("PATCHes /v1/user with the name and the CSRF header, then refreshes", async () => {
    respond = () => ({ status: 200, body: { user: { ...USER, name: "Bea" } } });
    const state = await tessera().updateProfile(idle, form({ name: "Bea" }));
    expect(sent()?.method).toBe("PATCH");
    expect(sent()?.url).toBe("/v1/user");
    expect(sentJson()).toEqual({ name: "Bea" });
    expect(sent()?.headers["x-csrf-token"]).toBe("csrf-1");
    expect(state).toEqual({ status: "success", message: "Your name is saved.", values: { name: "Bea" } });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("shows a refused name next to the field", async () => {
    respond = () => problem(422, "validation_failed", [{ field: "name", message: "must be at most 100 characters" }]);
    const state = await tessera().updateProfile(idle, form({ name: "x".repeat(101) }));
    expect(state.fieldErrors).toEqual({ name: "Name must be at most 100 characters." });
    expect(refresh).not.toHaveBeenCalled();
  });

  it("sends a signed-out browser to sign in", async () => {
    respond = () => problem(401, "unauthenticated");
    expect(await redirectOf(tessera().updateProfile(idle, form({ name: "B", next: "/account" })))).toBe("/login?next=%2Faccount");
  });
});

describe("deleteAccount", () => {
  const cleared: [string, string][] = [
    ["set-cookie", "__Host-tessera_session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict"],
    ["set-cookie", "__Host-tessera_csrf=; Max-Age=0; Path=/; Secure; SameSite=Strict"],
  ];

  it("DELETEs /v1/user with the current password, clears both cookies and goes to the sign-out page", async () => {
    respond = () => ({ status: 204, headers: cleared });
    const url = await redirectOf(tessera().deleteAccount(idle, form({ current_password: "pw-123456", confirm: "yes" })));
    expect(url).toBe("/login");
    expect(sent()?.method).toBe("DELETE");
    expect(sent()?.url).toBe("/v1/user");
    expect(sentJson()).toEqual({ current_password: "pw-123456" });
    expect(sent()?.headers["x-csrf-token"]).toBe("csrf-1");
    expect(request.jar.get("__Host-tessera_session")).toMatchObject({ value: "", maxAge: 0 });
    expect(request.jar.get("__Host-tessera_csrf")).toMatchObject({ value: "", maxAge: 0 });
  });

  it("clears the cookies even when tessera's answer set none", async () => {
    respond = () => ({ status: 204, headers: [] });
    await redirectOf(tessera().deleteAccount(idle, form({ current_password: "pw", confirm: "on" })));
    expect(request.jar.get("__Host-tessera_session")).toMatchObject({ value: "", maxAge: 0 });
  });

  it("sends no password for a user who has none", async () => {
    respond = () => ({ status: 204, headers: cleared });
    await redirectOf(tessera().deleteAccount(idle, form({ current_password: "", confirm: "on" })));
    expect(sentJson()).toEqual({});
  });

  it("does nothing without the confirmation", async () => {
    const before = upstream.received.length;
    const state = await tessera().deleteAccount(idle, form({ current_password: "pw" }));
    expect(state.fieldErrors?.confirm).toMatch(/Tick the box/);
    expect(upstream.received.length).toBe(before);
    expect(request.jar.get("__Host-tessera_session")?.value).toBe("tok");
  });

  it("keeps the session and says why for a wrong password or an old session", async () => {
    respond = () => problem(422, "validation_failed", [{ field: "current_password", message: "is incorrect" }]);
    const wrong = await tessera().deleteAccount(idle, form({ current_password: "wrong", confirm: "on" }));
    expect(wrong.fieldErrors).toEqual({ current_password: "Current password is incorrect." });
    expect(request.jar.get("__Host-tessera_session")?.value).toBe("tok");
    respond = () => problem(403, "reauthentication_required");
    const stale = await tessera().deleteAccount(idle, form({ confirm: "on" }));
    expect(stale).toMatchObject({ code: "reauthentication_required", message: expect.stringMatching(/sign in again/) });
    expect(request.jar.get("__Host-tessera_session")?.value).toBe("tok");
  });

  it("sends a signed-out browser to sign in", async () => {
    respond = () => problem(401, "unauthenticated");
    expect(await redirectOf(tessera().deleteAccount(idle, form({ current_password: "pw", confirm: "on", next: "/account" })))).toBe("/login?next=%2Faccount");
  });
});
