import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { form, redirectOf, resetRequest } from "./next-mocks.js";
import { closedPort, startJsonUpstream, type JsonAnswer, type Received } from "./upstream-server.js";

vi.mock("next/headers", async () => (await import("./next-mocks.js")).nextHeaders);
vi.mock("next/navigation", async () => (await import("./next-mocks.js")).nextNavigation);
vi.mock("next/cache", () => ({ refresh: vi.fn() }));
vi.mock("react", () => ({ cache: <T>(fn: T) => fn }));

const { refresh } = await import("next/cache");
const { createTessera } = await import("../src/server/tessera.js");

const ORIGIN = "http://localhost:3000";
const ID = "0b7f6c1e-1111-4000-8000-00000000000a";
const ADMIN_ID = "0b7f6c1e-2222-4000-8000-00000000000b";
const TARGET = { id: ID, email: "t@example.com", name: null, email_verified: false, roles: ["support"], created_at: "2026-01-01T00:00:00Z", disabled: false };
const DETAIL = {
  user: TARGET,
  identities: [{ provider: "acme", subject: "42", email: "t@example.com", created_at: "2026-01-02T00:00:00Z" }],
  sessions: [
    { id: "s9", created_at: "2026-01-03T00:00:00Z", last_seen_at: "2026-01-03T01:00:00Z", expires_at: "2026-02-03T00:00:00Z", user_agent: "Browser/9", ip: null, current: false },
  ],
  second_factors: { totp_enabled: true, recovery_codes_remaining: 8, passkeys: 0 },
};
const EVENT = {
  id: "0b7f6c1e-0000-4000-8000-000000000003",
  at: "2026-12-05T06:00:03Z",
  kind: "user_disabled",
  user_id: ID,
  actor: `admin:${ADMIN_ID}`,
  ip: "198.51.100.7",
  user_agent: "Browser/1",
  detail: {},
};
const ADMIN = { id: ADMIN_ID, email: "admin@example.com", name: null, email_verified: true, roles: ["admin"], created_at: "2026-01-01T00:00:00Z" };
const sessionWith = (amr: string[], roles = ["admin"]) => ({
  user: { ...ADMIN, roles },
  session: { id: "s1", created_at: "x", expires_at: "y", absolute_expires_at: "z", amr },
});

const problem = (status: number, code: string, extra: Record<string, unknown> = {}): JsonAnswer => ({
  status,
  headers: [["content-type", "application/problem+json"]],
  body: { type: `urn:tessera:error:${code}`, title: "x", status, code, ...extra },
});
const adminRequired = problem(403, "admin_required", { detail: "sign in with a second factor (an authenticator app or a passkey) first" });

/** What the stand-in answers for `/v1/session` (the kit reads it to explain an `admin_required`). */
let session: JsonAnswer;
/** What it answers for everything else. */
let respond: (request: Received) => JsonAnswer;
let upstream: Awaited<ReturnType<typeof startJsonUpstream>>;

beforeAll(async () => {
  upstream = await startJsonUpstream((received) => (received.url === "/v1/session" ? session : respond(received)));
});
afterAll(() => upstream.close());
beforeEach(() => {
  vi.mocked(refresh).mockClear();
  session = { status: 200, body: sessionWith(["pwd", "otp", "mfa"]) };
  resetRequest(
    { origin: ORIGIN, "sec-fetch-site": "same-origin", "user-agent": "Browser/1" },
    { "__Host-tessera_session": "tok", "__Host-tessera_csrf": "csrf-1" },
  );
});

function tessera(serverUrl = upstream.url) {
  return createTessera({ serverUrl, bffKey: "k", publicOrigin: ORIGIN });
}

const idle = { status: "idle" } as const;
/** The calls that reached the stand-in, but the session reads. */
const calls = () => upstream.received.filter((r) => r.url !== "/v1/session");
const sent = () => calls().at(-1);
const sentJson = () => JSON.parse(sent()?.body ?? "null") as unknown;

describe("admin readers", () => {
  it("listUsers GETs /v1/admin/users with the query, cursor and limit, the session cookie and BFF key, no intent or CSRF", async () => {
    respond = () => ({ status: 200, body: { users: [TARGET], next_cursor: "c2" } });
    expect(await tessera().admin.listUsers({ query: " t@ex ", cursor: "c1", limit: 20 })).toEqual({ users: [TARGET], next_cursor: "c2" });
    expect(sent()).toMatchObject({ method: "GET", url: "/v1/admin/users?query=t%40ex&cursor=c1&limit=20" });
    expect(sent()?.headers).toMatchObject({ cookie: "__Host-tessera_session=tok; __Host-tessera_csrf=csrf-1", "tessera-bff-key": "k" });
    expect(sent()?.headers.origin).toBeUndefined();
    expect(sent()?.headers["x-csrf-token"]).toBeUndefined();
    expect(sent()?.headers["tessera-admin-key"]).toBeUndefined();
  });

  it("listUsers leaves out what is empty, and reads the last page's null cursor", async () => {
    respond = () => ({ status: 200, body: { users: [], next_cursor: null } });
    expect(await tessera().admin.listUsers({ query: "", cursor: undefined })).toEqual({ users: [], next_cursor: null });
    expect(sent()?.url).toBe("/v1/admin/users");
    await tessera().admin.listUsers();
    expect(sent()?.url).toBe("/v1/admin/users");
  });

  it("getUser reads the user with identities, sessions and second factors", async () => {
    respond = () => ({ status: 200, body: DETAIL });
    expect(await tessera().admin.getUser(ID)).toEqual(DETAIL);
    expect(sent()).toMatchObject({ method: "GET", url: `/v1/admin/users/${ID}` });
  });

  it("getUser is null for an unknown user (404), and for an id that is no UUID without calling tessera", async () => {
    respond = () => problem(404, "not_found");
    expect(await tessera().admin.getUser(ID)).toBeNull();
    const before = upstream.received.length;
    for (const id of ["", "nope", "../session", `${ID}/sessions`, `${ID}?x=1`]) expect(await tessera().admin.getUser(id)).toBeNull();
    expect(upstream.received.length).toBe(before);
  });

  it("auditLog sends user as user_id, kind and cursor, and reads events newest first as sent", async () => {
    respond = () => ({ status: 200, body: { events: [EVENT], next_cursor: null } });
    expect(await tessera().admin.auditLog({ user: ID, kind: "user_disabled", cursor: "e1" })).toEqual({ events: [EVENT], next_cursor: null });
    expect(sent()?.url).toBe(`/v1/admin/audit?user_id=${ID}&kind=user_disabled&cursor=e1`);
    await tessera().admin.auditLog({ user: " ", kind: "" });
    expect(sent()?.url).toBe("/v1/admin/audit");
  });

  it("says second_factor_required for an administrator whose session has no mfa, admin_required for anyone else", async () => {
    respond = () => adminRequired;
    session = { status: 200, body: sessionWith(["pwd"]) };
    await expect(tessera().admin.listUsers()).rejects.toMatchObject({ code: "second_factor_required", status: 403, problem: { code: "admin_required" } });
    await expect(tessera().admin.getUser(ID)).rejects.toMatchObject({ code: "second_factor_required" });
    await expect(tessera().admin.auditLog()).rejects.toMatchObject({ code: "second_factor_required" });
    session = { status: 200, body: sessionWith(["pwd"], ["support"]) };
    await expect(tessera().admin.listUsers()).rejects.toMatchObject({ code: "admin_required", status: 403 });
    session = { status: 200, body: sessionWith(["hwk", "mfa"]) };
    await expect(tessera().admin.listUsers()).rejects.toMatchObject({ code: "admin_required" });
    session = { status: 503, body: { code: "unavailable", status: 503 } };
    await expect(tessera().admin.listUsers()).rejects.toMatchObject({ code: "admin_required" });
  });

  it("throws unauthenticated on 401, request_failed with the problem on 422, upstream_* otherwise", async () => {
    respond = () => problem(401, "unauthenticated");
    await expect(tessera().admin.listUsers()).rejects.toMatchObject({ code: "unauthenticated", status: 401 });
    respond = () => problem(422, "validation_failed", { errors: [{ field: "cursor", message: "is not a cursor this API gave" }] });
    await expect(tessera().admin.auditLog({ cursor: "junk" })).rejects.toMatchObject({
      code: "request_failed",
      status: 422,
      problem: { errors: [{ field: "cursor" }] },
    });
    respond = () => problem(403, "bff_key_invalid");
    await expect(tessera().admin.listUsers()).rejects.toMatchObject({ code: "upstream_error", status: 403 });
    respond = () => problem(503, "unavailable");
    await expect(tessera().admin.getUser(ID)).rejects.toMatchObject({ code: "upstream_unavailable", status: 503 });
    const port = await closedPort();
    await expect(tessera(`http://127.0.0.1:${port}`).admin.listUsers()).rejects.toMatchObject({ code: "upstream_unavailable" });
  });

  it("throws upstream_error on a 200 that is not the promised shape", async () => {
    respond = () => ({ status: 200, body: { users: [{ ...TARGET, disabled: "no" }], next_cursor: null } });
    await expect(tessera().admin.listUsers()).rejects.toMatchObject({ code: "upstream_error", status: 200 });
    respond = () => ({ status: 200, body: { users: [TARGET] } });
    await expect(tessera().admin.listUsers()).rejects.toMatchObject({ code: "upstream_error" });
    respond = () => ({ status: 200, body: { ...DETAIL, second_factors: null } });
    await expect(tessera().admin.getUser(ID)).rejects.toMatchObject({ code: "upstream_error" });
    respond = () => ({ status: 200, body: { events: [{ id: "x" }], next_cursor: null } });
    await expect(tessera().admin.auditLog()).rejects.toMatchObject({ code: "upstream_error" });
  });
});

describe("admin actions", () => {
  it.each([
    ["setUserDisabled", { disabled: "true" }],
    ["changeUserRoles", { add: "support" }],
    ["revokeUserSessions", {}],
    ["sendPasswordReset", {}],
    ["deleteUser", { confirm: "yes" }],
  ] as const)("%s answers upstream_unavailable when tessera is unreachable, and invalid_request without a user id", async (action, fields) => {
    const down = tessera(`http://127.0.0.1:${await closedPort()}`);
    expect(await down.admin[action](idle, form({ user_id: ID, ...fields }))).toMatchObject({ status: "error", code: "upstream_unavailable" });
    const before = upstream.received.length;
    expect(await tessera().admin[action](idle, form({ user_id: "../../session", ...fields }))).toMatchObject({ status: "error", code: "invalid_request" });
    expect(upstream.received.length).toBe(before);
  });

  it("setUserDisabled PATCHes {disabled} with the CSRF header and the browser's intent, then refreshes", async () => {
    respond = () => ({ status: 200, body: { user: { ...TARGET, disabled: true } } });
    const state = await tessera().admin.setUserDisabled(idle, form({ user_id: ID, disabled: "true" }));
    expect(state).toEqual({ status: "success", message: expect.stringMatching(/^The user is disabled/) });
    expect(sent()).toMatchObject({ method: "PATCH", url: `/v1/admin/users/${ID}` });
    expect(sentJson()).toEqual({ disabled: true });
    expect(sent()?.headers).toMatchObject({ "x-csrf-token": "csrf-1", origin: ORIGIN, "sec-fetch-site": "same-origin", "content-type": "application/json", "tessera-bff-key": "k" });
    expect(refresh).toHaveBeenCalledOnce();
    respond = () => ({ status: 200, body: { user: TARGET } });
    expect(await tessera().admin.setUserDisabled(idle, form({ user_id: ID, disabled: "false" }))).toMatchObject({ status: "success", message: expect.stringMatching(/^The user is enabled/) });
    expect(sentJson()).toEqual({ disabled: false });
  });

  it("setUserDisabled refuses anything but true or false without calling tessera", async () => {
    const before = upstream.received.length;
    expect(await tessera().admin.setUserDisabled(idle, form({ user_id: ID, disabled: "yes" }))).toMatchObject({ status: "error", code: "invalid_request" });
    expect(upstream.received.length).toBe(before);
  });

  it("an administrator without a second factor gets second_factor_required in words, not a generic refusal", async () => {
    respond = () => adminRequired;
    session = { status: 200, body: sessionWith(["pwd"]) };
    const state = await tessera().admin.revokeUserSessions(idle, form({ user_id: ID }));
    expect(state).toEqual({ status: "error", code: "second_factor_required", message: expect.stringMatching(/^Sign in with a second factor/) });
    session = { status: 200, body: sessionWith(["pwd"], []) };
    expect(await tessera().admin.revokeUserSessions(idle, form({ user_id: ID }))).toMatchObject({ code: "admin_required", message: "Only administrators can do this." });
    expect(refresh).not.toHaveBeenCalled();
  });

  it("a session that ended meanwhile goes to sign in and back to next", async () => {
    respond = () => problem(401, "unauthenticated");
    expect(await redirectOf(tessera().admin.sendPasswordReset(idle, form({ user_id: ID, next: `/admin/users/${ID}` })))).toBe(`/login?next=%2Fadmin%2Fusers%2F${ID}`);
  });

  it("a user deleted meanwhile is not_found", async () => {
    respond = () => problem(404, "not_found");
    expect(await tessera().admin.setUserDisabled(idle, form({ user_id: ID, disabled: "true" }))).toMatchObject({ status: "error", code: "not_found", message: "This user no longer exists." });
  });

  it("changeUserRoles reads the current roles, then PATCHes the whole list with the role added or removed", async () => {
    respond = (request) => (request.method === "GET" ? { status: 200, body: DETAIL } : { status: 200, body: { user: TARGET } });
    expect(await tessera().admin.changeUserRoles(idle, form({ user_id: ID, add: "billing" }))).toEqual({ status: "success", message: "Role billing added." });
    const [read, write] = calls().slice(-2);
    expect(read).toMatchObject({ method: "GET", url: `/v1/admin/users/${ID}` });
    expect(write).toMatchObject({ method: "PATCH", url: `/v1/admin/users/${ID}` });
    expect(JSON.parse(write?.body ?? "null")).toEqual({ roles: ["support", "billing"] });
    expect(await tessera().admin.changeUserRoles(idle, form({ user_id: ID, remove: "support" }))).toEqual({ status: "success", message: "Role support removed." });
    expect(sentJson()).toEqual({ roles: [] });
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it("changeUserRoles writes nothing when the role is already there (or already gone)", async () => {
    respond = () => ({ status: 200, body: DETAIL });
    const before = upstream.received.length;
    expect(await tessera().admin.changeUserRoles(idle, form({ user_id: ID, add: "support" }))).toMatchObject({ status: "success", message: "The user already has the role support." });
    expect(await tessera().admin.changeUserRoles(idle, form({ user_id: ID, remove: "billing" }))).toMatchObject({ status: "success", message: "The user does not have the role billing." });
    expect(upstream.received.slice(before).map((r) => r.method)).toEqual(["GET", "GET"]);
  });

  it("changeUserRoles checks the role before calling, and shows tessera's refusal on the field", async () => {
    const before = upstream.received.length;
    expect(await tessera().admin.changeUserRoles(idle, form({ user_id: ID, add: " " }))).toMatchObject({ fieldErrors: { role: "Role is required." } });
    expect(await tessera().admin.changeUserRoles(idle, form({ user_id: ID, add: "Not Valid" }))).toMatchObject({
      code: "validation_failed",
      fieldErrors: { role: expect.stringMatching(/^A role is 1 to 64/) },
      values: { role: "Not Valid" },
    });
    expect(upstream.received.length).toBe(before);
    respond = (request) => (request.method === "GET" ? { status: 200, body: DETAIL } : problem(422, "validation_failed", { errors: [{ field: "roles", message: "at most 32 roles" }] }));
    expect(await tessera().admin.changeUserRoles(idle, form({ user_id: ID, add: "one-more" }))).toMatchObject({ code: "validation_failed", fieldErrors: { role: expect.any(String) } });
  });

  it("revokeUserSessions DELETEs the user's sessions; sendPasswordReset POSTs for a reset mail", async () => {
    respond = () => ({ status: 204, headers: [] });
    expect(await tessera().admin.revokeUserSessions(idle, form({ user_id: ID }))).toMatchObject({ status: "success", message: expect.stringMatching(/signed out everywhere/) });
    expect(sent()).toMatchObject({ method: "DELETE", url: `/v1/admin/users/${ID}/sessions` });
    expect(sent()?.headers["x-csrf-token"]).toBe("csrf-1");
    respond = () => ({ status: 202, headers: [] });
    expect(await tessera().admin.sendPasswordReset(idle, form({ user_id: ID }))).toMatchObject({ status: "success", message: expect.stringMatching(/on its way/) });
    expect(sent()).toMatchObject({ method: "POST", url: `/v1/admin/users/${ID}/password-reset` });
  });

  it("deleteUser wants the box ticked, then DELETEs and goes to a same-origin redirect_to only", async () => {
    const before = upstream.received.length;
    expect(await tessera().admin.deleteUser(idle, form({ user_id: ID }))).toMatchObject({ status: "error", fieldErrors: { confirm: expect.any(String) } });
    expect(upstream.received.length).toBe(before);
    respond = () => ({ status: 204, headers: [] });
    expect(await redirectOf(tessera().admin.deleteUser(idle, form({ user_id: ID, confirm: "yes", redirect_to: "/admin" })))).toBe("/admin");
    expect(sent()).toMatchObject({ method: "DELETE", url: `/v1/admin/users/${ID}` });
    expect(await redirectOf(tessera().admin.deleteUser(idle, form({ user_id: ID, confirm: "yes", redirect_to: "//evil.example/" })))).toBe("/");
    expect(await tessera().admin.deleteUser(idle, form({ user_id: ID, confirm: "yes" }))).toEqual({ status: "success", message: "The user is deleted." });
  });
});
