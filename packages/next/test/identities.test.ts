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
const IDENTITIES = [
  { provider: "github", subject: "583231", email: "octo@example.com", created_at: "2026-01-02T03:04:05Z" },
  { provider: "acme", subject: "pw-1", email: null, created_at: "2026-01-03T00:00:00Z" },
];
let respond: (request: Received) => JsonAnswer;
let upstream: Awaited<ReturnType<typeof startJsonUpstream>>;

beforeAll(async () => {
  upstream = await startJsonUpstream((received) => respond(received));
});
afterAll(() => upstream.close());
beforeEach(() => {
  vi.mocked(refresh).mockClear();
  vi.unstubAllEnvs();
  resetRequest(
    { origin: ORIGIN, "sec-fetch-site": "same-origin", "user-agent": "Browser/1", cookie: "__Host-tessera_session=stale" },
    { "__Host-tessera_session": "tok", "__Host-tessera_csrf": "csrf-1", theme: "dark" },
  );
});

function tessera(serverUrl = upstream.url) {
  return createTessera({ serverUrl, bffKey: "k", publicOrigin: ORIGIN });
}

const problem = (status: number, code: string) => ({ type: "about:blank", title: "x", status, code });

describe("listIdentities", () => {
  it("GETs /v1/identities with the session cookie and the BFF key, without intent headers", async () => {
    respond = () => ({ status: 200, body: { identities: IDENTITIES } });
    expect(await tessera().listIdentities()).toEqual(IDENTITIES);
    const sent = upstream.received.at(-1);
    expect(sent).toMatchObject({ method: "GET", url: "/v1/identities" });
    expect(sent?.headers).toMatchObject({ cookie: "__Host-tessera_session=tok; __Host-tessera_csrf=csrf-1", "tessera-bff-key": "k", accept: "application/json" });
    expect(sent?.headers.origin).toBeUndefined();
    expect(sent?.headers["x-csrf-token"]).toBeUndefined();
  });

  it("throws unauthenticated on 401", async () => {
    respond = () => ({ status: 401, body: problem(401, "unauthenticated") });
    await expect(tessera().listIdentities()).rejects.toMatchObject({ code: "unauthenticated", status: 401 });
  });

  it("throws upstream_unavailable when tessera is down or busy, never an empty list", async () => {
    respond = () => ({ status: 503, body: problem(503, "unavailable") });
    await expect(tessera().listIdentities()).rejects.toMatchObject({ code: "upstream_unavailable", status: 503 });
    const port = await closedPort();
    await expect(tessera(`http://127.0.0.1:${port}`).listIdentities()).rejects.toMatchObject({ code: "upstream_unavailable" });
  });

  it("throws upstream_error on an answer that is not an identity list", async () => {
    respond = () => ({ status: 200, body: { identities: [{ provider: "github" }] } });
    await expect(tessera().listIdentities()).rejects.toMatchObject({ code: "upstream_error", status: 200 });
    respond = () => ({ status: 404, body: problem(404, "not_found") });
    await expect(tessera().listIdentities()).rejects.toMatchObject({ code: "upstream_error", status: 404, problem: { code: "not_found" } });
  });
});

describe("unlinkIdentity", () => {
  it("DELETEs with the CSRF header and the browser's Origin, then refreshes the page's data", async () => {
    vi.stubEnv("TESSERA_OAUTH_ACME_LABEL", "Acme SSO");
    respond = () => ({ status: 204, headers: [] });
    const state = await tessera().unlinkIdentity({ status: "idle" }, form({ provider: "acme" }));
    expect(state).toEqual({ status: "success", message: "Acme SSO is no longer linked to your account." });
    const sent = upstream.received.at(-1);
    expect(sent).toMatchObject({ method: "DELETE", url: "/v1/identities/acme" });
    expect(sent?.headers).toMatchObject({
      "x-csrf-token": "csrf-1",
      origin: ORIGIN,
      "sec-fetch-site": "same-origin",
      cookie: "__Host-tessera_session=tok; __Host-tessera_csrf=csrf-1",
      "tessera-bff-key": "k",
    });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("explains last_sign_in_method in words and changes nothing", async () => {
    respond = () => ({ status: 409, headers: [["content-type", "application/problem+json"]], body: problem(409, "last_sign_in_method") });
    const state = await tessera().unlinkIdentity({ status: "idle" }, form({ provider: "github" }));
    expect(state).toEqual({
      status: "error",
      code: "last_sign_in_method",
      message: "This is the only way you can sign in, so it cannot be unlinked. Link another provider first.",
    });
    expect(refresh).not.toHaveBeenCalled();
  });

  it("says so when the provider was not linked (any more), and shows the list as it is now", async () => {
    respond = () => ({ status: 404, body: problem(404, "not_found") });
    const state = await tessera().unlinkIdentity({ status: "idle" }, form({ provider: "github" }));
    expect(state).toMatchObject({ status: "error", code: "not_found", message: "GitHub is not linked to your account." });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("refuses a CSRF failure in words", async () => {
    respond = () => ({ status: 403, body: problem(403, "csrf_failed") });
    const state = await tessera().unlinkIdentity({ status: "idle" }, form({ provider: "github" }));
    expect(state).toMatchObject({ status: "error", code: "csrf_failed", message: "This request was refused. Reload the page and try again." });
  });

  it("sends a signed-out browser to sign in, coming back to a safe next", async () => {
    respond = () => ({ status: 401, body: problem(401, "unauthenticated") });
    const url = await redirectOf(tessera().unlinkIdentity({ status: "idle" }, form({ provider: "github", next: "/account" })));
    expect(url).toBe("/login?next=%2Faccount");
  });

  it.each(["", "GitHub", "../sessions", "github/x", "a%2Fb"])("refuses provider %j without calling tessera", async (provider) => {
    const before = upstream.received.length;
    const state = await tessera().unlinkIdentity({ status: "idle" }, form({ provider }));
    expect(state).toMatchObject({ status: "error", code: "invalid_request" });
    expect(upstream.received.length).toBe(before);
  });

  it("reports tessera being down as unavailable", async () => {
    const port = await closedPort();
    const state = await tessera(`http://127.0.0.1:${port}`).unlinkIdentity({ status: "idle" }, form({ provider: "github" }));
    expect(state).toMatchObject({ status: "error", code: "upstream_unavailable" });
  });
});
