import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startJsonUpstream, type JsonAnswer, type Received } from "./upstream-server.js";

/**
 * One copy of the mocks for the whole file: each test takes the entries
 * fresh (vi.resetModules, as a new server process would), and the mocked
 * next/headers they then import must still be the request this file sets.
 */
const mocks = await vi.hoisted(async () => import("./next-mocks.js"));
const { form } = mocks;

// The entries below import "server-only", whose plain export throws outside a
// react-server bundle; Next resolves it to an empty module on the server.
vi.mock("server-only", () => ({}));
vi.mock("next/headers", () => mocks.nextHeaders);
vi.mock("next/navigation", () => mocks.nextNavigation);
vi.mock("next/cache", () => ({ refresh: vi.fn() }));
vi.mock("react", () => ({ cache: <T>(fn: T) => fn }));

const { withEnvDefaults } = await import("../src/config.js");

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
  // Each test gets the entries fresh, as a new server process would.
  vi.resetModules();
  vi.unstubAllEnvs();
  for (const name of ["TESSERA_URL", "TESSERA_BFF_KEY", "APP_ORIGIN"]) vi.stubEnv(name, undefined);
  mocks.resetRequest({ origin: ORIGIN, "sec-fetch-site": "same-origin", "user-agent": "Browser/1" });
  respond = () => ({ status: 200, body: { user: USER, session: SESSION } });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("withEnvDefaults", () => {
  it("fills the fields left out from TESSERA_URL, TESSERA_BFF_KEY and APP_ORIGIN", () => {
    const env = { TESSERA_URL: "http://t:4000", TESSERA_BFF_KEY: "key", APP_ORIGIN: "https://app.example" };
    expect(withEnvDefaults({}, env)).toEqual({ serverUrl: "http://t:4000", bffKey: "key", publicOrigin: "https://app.example" });
    expect(withEnvDefaults({ afterSignInPath: "/account" }, env)).toMatchObject({ serverUrl: "http://t:4000", afterSignInPath: "/account" });
  });

  it("keeps a field that is given, even as undefined, and reads an empty variable as unset", () => {
    const env = { TESSERA_URL: "http://t:4000", TESSERA_BFF_KEY: "key", APP_ORIGIN: "" };
    expect(withEnvDefaults({ serverUrl: "http://other:1", bffKey: undefined }, env)).toEqual({
      serverUrl: "http://other:1",
      bffKey: undefined,
      publicOrigin: undefined,
    });
  });
});

describe("createTessera() with no argument", () => {
  it("reads the environment at first use, not when created", async () => {
    const { createTessera } = await import("../src/server/tessera.js");
    const kit = createTessera();
    vi.stubEnv("TESSERA_URL", upstream.url);
    vi.stubEnv("TESSERA_BFF_KEY", "env-key");
    vi.stubEnv("APP_ORIGIN", "https://app.example");
    mocks.resetRequest({ "user-agent": "Browser/1" }, { "__Host-tessera_session": "tok" });
    expect(await kit.getSession()).toMatchObject({ user: { email: USER.email } });
    const sent = upstream.received.at(-1);
    expect(sent?.url).toBe("/v1/session");
    expect(sent?.headers).toMatchObject({ "tessera-bff-key": "env-key" });
  });

  it("resolves once: a later change of the environment does not reach a kit in use", async () => {
    const { createTessera } = await import("../src/server/tessera.js");
    vi.stubEnv("TESSERA_URL", upstream.url);
    vi.stubEnv("TESSERA_BFF_KEY", "first");
    const kit = createTessera();
    mocks.resetRequest({}, { "__Host-tessera_session": "tok" });
    await kit.getSession();
    vi.stubEnv("TESSERA_BFF_KEY", "second");
    await kit.getSession();
    expect(upstream.received.at(-1)?.headers["tessera-bff-key"]).toBe("first");
  });

  it("with TESSERA_URL unset, creates fine and fails with config_invalid at first use, then works once it is set", async () => {
    const { createTessera } = await import("../src/server/tessera.js");
    const kit = createTessera();
    mocks.resetRequest({}, { "__Host-tessera_session": "tok" });
    await expect(kit.getSession()).rejects.toMatchObject({ code: "config_invalid", message: expect.stringContaining("TESSERA_URL") });
    vi.stubEnv("TESSERA_URL", upstream.url);
    await expect(kit.getSession()).resolves.toMatchObject({ user: { email: USER.email } });
  });

  it("uses the default paths: sign-out lands on /login", async () => {
    const { createTessera } = await import("../src/server/tessera.js");
    vi.stubEnv("TESSERA_URL", upstream.url);
    respond = () => ({ status: 204 });
    expect(await mocks.redirectOf(createTessera().signOut())).toBe("/login");
  });
});

const ACTIONS = [
  "adminChangeUserRoles",
  "adminDeleteUser",
  "adminRevokeUserSessions",
  "adminSendPasswordReset",
  "adminSetUserDisabled",
  "changeEmail",
  "changePassword",
  "confirmEmailChange",
  "confirmTotp",
  "deleteAccount",
  "deletePasskey",
  "disableTotp",
  "enrollTotp",
  "regenerateRecoveryCodes",
  "renamePasskey",
  "requestPasswordReset",
  "resendVerification",
  "resetPassword",
  "signIn",
  "signOut",
  "signUp",
  "unlinkIdentity",
  "updateProfile",
  "verifyEmail",
  "verifyMfa",
];

describe("@tessera/next/actions", () => {
  it("exports the kit's actions and nothing else, each an async function (all a \"use server\" module may export)", async () => {
    const actions: Record<string, unknown> = await import("../src/actions/index.js");
    expect(Object.keys(actions).sort()).toEqual(ACTIONS);
    for (const name of ACTIONS) expect(actions[name]?.constructor.name, name).toBe("AsyncFunction");
  });

  it("starts with the \"use server\" directive, in the source and the build", async () => {
    const { readFileSync, existsSync } = await import("node:fs");
    const source = new URL("../src/actions/index.ts", import.meta.url);
    expect(readFileSync(source, "utf8").startsWith('"use server";\n')).toBe(true);
    const built = new URL("../dist/actions/index.js", import.meta.url);
    if (existsSync(built)) expect(readFileSync(built, "utf8").startsWith('"use server";\n')).toBe(true);
  });

  it("is importable without the environment (next build), and signIn uses it once it is there", async () => {
    const { signIn } = await import("../src/actions/index.js");
    vi.stubEnv("TESSERA_URL", upstream.url);
    vi.stubEnv("TESSERA_BFF_KEY", "env-key");
    const url = await mocks.redirectOf(signIn({ status: "idle" }, form({ email: "a@example.com", password: "pw12345678", next: "/account" })));
    expect(url).toBe("/account");
    const sent = upstream.received.at(-1);
    expect(sent?.url).toBe("/v1/login");
    expect(sent?.headers).toMatchObject({ "tessera-bff-key": "env-key", origin: ORIGIN });
  });

  it("signIn without a next lands on /, the default afterSignInPath", async () => {
    const { signIn } = await import("../src/actions/index.js");
    vi.stubEnv("TESSERA_URL", upstream.url);
    expect(await mocks.redirectOf(signIn({ status: "idle" }, form({ email: "a@example.com", password: "pw12345678" })))).toBe("/");
  });

  it("an action without TESSERA_URL fails with the kit's config_invalid error", async () => {
    const { signUp } = await import("../src/actions/index.js");
    await expect(signUp({ status: "idle" }, form({ email: "a@example.com", password: "pw12345678" }))).rejects.toMatchObject({ code: "config_invalid" });
  });

  it("shares one instance with @tessera/next/server's tessera", async () => {
    const { signOut } = await import("../src/actions/index.js");
    const { tessera } = await import("../src/server/default.js");
    vi.stubEnv("TESSERA_URL", upstream.url);
    vi.stubEnv("TESSERA_BFF_KEY", "first");
    mocks.resetRequest({}, { "__Host-tessera_session": "tok" });
    await tessera.getSession();
    // Resolved by tessera.getSession: the action sees the same config.
    vi.stubEnv("TESSERA_BFF_KEY", "second");
    respond = () => ({ status: 204 });
    expect(await mocks.redirectOf(signOut())).toBe("/login");
    expect(upstream.received.at(-1)).toMatchObject({ url: "/v1/logout", headers: { "tessera-bff-key": "first" } });
    expect(mocks.request.jar.get("__Host-tessera_session")?.value).toBe("");
  });
});

describe("@tessera/next/route", () => {
  it("forwards /api/auth/* with the env's key, read on the first request", async () => {
    const route = await import("../src/route/index.js");
    expect(Object.keys(route).sort()).toEqual(["DELETE", "GET", "PATCH", "POST"]);
    vi.stubEnv("TESSERA_URL", upstream.url);
    vi.stubEnv("TESSERA_BFF_KEY", "env-key");
    const response = await route.GET(new Request(`${ORIGIN}/api/auth/session`, { headers: { cookie: "__Host-tessera_session=tok" } }));
    expect(response.status).toBe(200);
    expect(upstream.received.at(-1)).toMatchObject({ method: "GET", url: "/v1/session", headers: { "tessera-bff-key": "env-key" } });
  });

  it("answers nothing outside /api/auth and rejects with config_invalid while TESSERA_URL is unset", async () => {
    const route = await import("../src/route/index.js");
    await expect(route.POST(new Request(`${ORIGIN}/api/auth/login`, { method: "POST", body: "{}" }))).rejects.toMatchObject({ code: "config_invalid" });
    vi.stubEnv("TESSERA_URL", upstream.url);
    expect((await route.GET(new Request(`${ORIGIN}/auth/session`))).status).toBe(404);
  });
});

describe("@tessera/next/server's getActivity and requireRole", () => {
  it("are the default instance's, exported from the server entry", async () => {
    const server = await import("../src/server/index.js");
    vi.stubEnv("TESSERA_URL", upstream.url);
    vi.stubEnv("TESSERA_BFF_KEY", "env-key");
    mocks.resetRequest({}, { "__Host-tessera_session": "tok" });
    respond = () => ({ status: 200, body: { events: [] } });
    expect(await server.getActivity()).toEqual([]);
    expect(upstream.received.at(-1)).toMatchObject({ method: "GET", url: "/v1/account/activity", headers: { "tessera-bff-key": "env-key" } });
    respond = () => ({ status: 200, body: { user: { ...USER, roles: ["admin"] }, session: SESSION } });
    expect(await server.requireRole("admin")).toMatchObject({ email: USER.email });
    await expect(server.requireRole("auditor")).rejects.toBeInstanceOf(mocks.NotFoundSignal);
    respond = () => ({ status: 401, body: { status: 401, code: "unauthenticated", title: "x", type: "about:blank" } });
    expect(await mocks.redirectOf(server.requireRole("admin", "/admin"))).toBe("/login?next=%2Fadmin");
  });
});
