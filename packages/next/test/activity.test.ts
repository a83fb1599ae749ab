import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { NotFoundSignal, redirectOf, resetRequest } from "./next-mocks.js";
import { closedPort, startJsonUpstream, type JsonAnswer, type Received } from "./upstream-server.js";

vi.mock("next/headers", async () => (await import("./next-mocks.js")).nextHeaders);
vi.mock("next/navigation", async () => (await import("./next-mocks.js")).nextNavigation);
vi.mock("next/cache", () => ({ refresh: vi.fn() }));
vi.mock("react", () => ({ cache: <T>(fn: T) => fn }));

const { createTessera } = await import("../src/server/tessera.js");

const ORIGIN = "http://localhost:3000";
const EVENTS = [
  {
    id: "0b7f6c1e-0000-4000-8000-000000000002",
    at: "2026-12-05T06:00:02Z",
    kind: "sign_in",
    user_id: "u1",
    actor: "user",
    ip: "198.51.100.7",
    user_agent: "Browser/1",
    detail: { session_id: "s1" },
  },
  {
    id: "0b7f6c1e-0000-4000-8000-000000000001",
    at: "2026-12-05T06:00:01Z",
    kind: "sign_in_failed",
    user_id: "u1",
    actor: "user",
    ip: null,
    user_agent: null,
    detail: {},
  },
];
const USER = { id: "u1", email: "a@example.com", name: "A", email_verified: true, roles: ["editor"], created_at: "2026-01-01T00:00:00Z" };
const SESSION = { id: "s1", created_at: "x", expires_at: "y", absolute_expires_at: "z", amr: ["pwd"] };
let respond: (request: Received) => JsonAnswer;
let upstream: Awaited<ReturnType<typeof startJsonUpstream>>;

beforeAll(async () => {
  upstream = await startJsonUpstream((received) => respond(received));
});
afterAll(() => upstream.close());
beforeEach(() => {
  resetRequest(
    { origin: ORIGIN, "sec-fetch-site": "same-origin", "user-agent": "Browser/1", cookie: "__Host-tessera_session=stale" },
    { "__Host-tessera_session": "tok", "__Host-tessera_csrf": "csrf-1", theme: "dark" },
  );
});

function tessera(serverUrl = upstream.url) {
  return createTessera({ serverUrl, bffKey: "k", publicOrigin: ORIGIN });
}

const problem = (status: number, code: string) => ({ type: "about:blank", title: "x", status, code });

describe("getActivity", () => {
  it("GETs /v1/account/activity with the session cookie and the BFF key, without intent headers, newest first as sent", async () => {
    respond = () => ({ status: 200, body: { events: EVENTS } });
    expect(await tessera().getActivity()).toEqual(EVENTS);
    const sent = upstream.received.at(-1);
    expect(sent).toMatchObject({ method: "GET", url: "/v1/account/activity" });
    expect(sent?.headers).toMatchObject({ cookie: "__Host-tessera_session=tok; __Host-tessera_csrf=csrf-1", "tessera-bff-key": "k", accept: "application/json" });
    expect(sent?.headers.origin).toBeUndefined();
    expect(sent?.headers["x-csrf-token"]).toBeUndefined();
  });

  it("keeps a kind it does not know, and reads a missing detail as {}", async () => {
    const { detail: _detail, ...rest } = EVENTS[1]!;
    respond = () => ({ status: 200, body: { events: [{ ...rest, kind: "something_new" }] } });
    expect(await tessera().getActivity()).toEqual([{ ...rest, kind: "something_new", detail: {} }]);
  });

  it("answers an empty list as it is", async () => {
    respond = () => ({ status: 200, body: { events: [] } });
    expect(await tessera().getActivity()).toEqual([]);
  });

  it("throws unauthenticated on 401", async () => {
    respond = () => ({ status: 401, body: problem(401, "unauthenticated") });
    await expect(tessera().getActivity()).rejects.toMatchObject({ code: "unauthenticated", status: 401 });
  });

  it("throws upstream_unavailable when tessera is down or busy, never an empty list", async () => {
    respond = () => ({ status: 503, body: problem(503, "unavailable") });
    await expect(tessera().getActivity()).rejects.toMatchObject({ code: "upstream_unavailable", status: 503 });
    const port = await closedPort();
    await expect(tessera(`http://127.0.0.1:${port}`).getActivity()).rejects.toMatchObject({ code: "upstream_unavailable" });
  });

  it("throws upstream_error on an answer that is not an event list", async () => {
    respond = () => ({ status: 200, body: { events: [{ id: "x", kind: "sign_in" }] } });
    await expect(tessera().getActivity()).rejects.toMatchObject({ code: "upstream_error", status: 200 });
    respond = () => ({ status: 200, body: { events: "none" } });
    await expect(tessera().getActivity()).rejects.toMatchObject({ code: "upstream_error", status: 200 });
    respond = () => ({ status: 404, body: problem(404, "not_found") });
    await expect(tessera().getActivity()).rejects.toMatchObject({ code: "upstream_error", status: 404, problem: { code: "not_found" } });
  });
});

describe("requireRole", () => {
  it("returns the user who has the role", async () => {
    respond = () => ({ status: 200, body: { user: USER, session: SESSION } });
    expect(await tessera().requireRole("editor", "/admin")).toEqual(USER);
    expect(upstream.received.at(-1)).toMatchObject({ method: "GET", url: "/v1/session" });
  });

  it("redirects to sign in when signed out (401), as requireUser", async () => {
    respond = () => ({ status: 401, body: problem(401, "unauthenticated") });
    expect(await redirectOf(tessera().requireRole("editor", "/admin"))).toBe("/login?next=%2Fadmin");
  });

  it("redirects to sign in without calling tessera when there is no session cookie", async () => {
    resetRequest({}, {});
    const before = upstream.received.length;
    expect(await redirectOf(tessera().requireRole("admin"))).toBe("/login");
    expect(upstream.received.length).toBe(before);
  });

  it("is notFound() for a signed-in user without the role (roles are matched exactly)", async () => {
    respond = () => ({ status: 200, body: { user: USER, session: SESSION } });
    await expect(tessera().requireRole("admin", "/admin")).rejects.toBeInstanceOf(NotFoundSignal);
    await expect(tessera().requireRole("Editor")).rejects.toBeInstanceOf(NotFoundSignal);
    respond = () => ({ status: 200, body: { user: { ...USER, roles: [] }, session: SESSION } });
    await expect(tessera().requireRole("editor")).rejects.toBeInstanceOf(NotFoundSignal);
  });

  it("throws upstream_unavailable when tessera is down, never a 404 or a sign-in redirect", async () => {
    respond = () => ({ status: 503, body: problem(503, "unavailable") });
    await expect(tessera().requireRole("editor")).rejects.toMatchObject({ code: "upstream_unavailable" });
  });
});
