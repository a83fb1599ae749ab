import { encode } from "uqr";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { form, redirectOf, request, resetRequest } from "./next-mocks.js";
import { closedPort, startJsonUpstream, type JsonAnswer, type Received } from "./upstream-server.js";

vi.mock("next/headers", async () => (await import("./next-mocks.js")).nextHeaders);
vi.mock("next/navigation", async () => (await import("./next-mocks.js")).nextNavigation);
vi.mock("next/cache", () => ({ refresh: vi.fn() }));
vi.mock("react", () => ({ cache: <T>(fn: T) => fn }));

const { refresh } = await import("next/cache");
const { createTessera } = await import("../src/server/tessera.js");
const { defineAuthPaths } = await import("../src/paths.js");
const { isAllowedPath } = await import("../src/server/route-handler.js");
const { qrPath, totpQrSvg } = await import("../src/server/qr.js");

const ORIGIN = "http://localhost:3000";
const USER = { id: "u1", email: "a@example.com", name: "A", email_verified: true, roles: [], created_at: "2026-01-01T00:00:00Z" };
const SESSION = { id: "s1", created_at: "x", expires_at: "y", absolute_expires_at: "z", amr: ["pwd", "otp", "mfa"] };
const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const URI = `otpauth://totp/Tessera:a%40example.com?secret=${SECRET}&issuer=Tessera`;
const MFA_SET_COOKIE = "__Host-tessera_mfa=chal-1; Max-Age=300; Path=/; Secure; HttpOnly; SameSite=Strict";
const CODES = Array.from({ length: 10 }, (_, i) => `aaaa-bbbb-cccc-${String(i).padStart(4, "0")}`);

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

function tessera(serverUrl = upstream.url, paths = defineAuthPaths()) {
  return createTessera({ serverUrl, bffKey: "k", afterSignInPath: "/dashboard", paths });
}

const idle = { status: "idle" } as const;
const problem = (status: number, code: string, extra: Record<string, unknown> = {}, headers: [string, string][] = []): JsonAnswer => ({
  status,
  headers: [["content-type", "application/problem+json"], ...headers],
  body: { type: `urn:tessera:error:${code}`, title: "x", status, code, ...extra },
});
const sent = () => upstream.received.at(-1);
const sentJson = () => JSON.parse(sent()?.body ?? "null") as unknown;
const signedOut = () => resetRequest({ origin: ORIGIN, "sec-fetch-site": "same-origin" });

describe("signIn with a second factor on", () => {
  it("applies the challenge cookie and goes to the code page with the same next", async () => {
    signedOut();
    respond = () => problem(401, "mfa_required", { challenge: "chal-1" }, [["set-cookie", MFA_SET_COOKIE]]);
    const url = await redirectOf(tessera().signIn(idle, form({ email: "a@example.com", password: "pw12345678", next: "/account/security" })));
    expect(url).toBe("/login/mfa?next=%2Faccount%2Fsecurity");
    expect(request.jar.get("__Host-tessera_mfa")).toMatchObject({ value: "chal-1", httpOnly: true, secure: true, sameSite: "strict", path: "/", maxAge: 300 });
    expect(request.jar.has("__Host-tessera_session")).toBe(false);
  });

  it.each(["//evil.example", "https://evil.example/", "/.//evil.example", ""])("drops an unsafe or missing next=%j on the way", async (next) => {
    signedOut();
    respond = () => problem(401, "mfa_required", { challenge: "chal-1" }, [["set-cookie", MFA_SET_COOKIE]]);
    const fields = { email: "a@example.com", password: "pw12345678" };
    expect(await redirectOf(tessera().signIn(idle, form(next === "" ? fields : { ...fields, next })))).toBe("/login/mfa");
  });

  it("follows the app's own mfaPath", async () => {
    signedOut();
    respond = () => problem(401, "mfa_required", { challenge: "chal-1" }, [["set-cookie", MFA_SET_COOKIE]]);
    const kit = tessera(upstream.url, defineAuthPaths({ signInPath: "/sign-in", mfaPath: "/sign-in/code/" }));
    expect(await redirectOf(kit.signIn(idle, form({ email: "a@example.com", password: "pw12345678", next: "/x" })))).toBe("/sign-in/code?next=%2Fx");
  });

  it("still reports a wrong password as before (401 without mfa_required)", async () => {
    signedOut();
    respond = () => problem(401, "invalid_credentials");
    const state = await tessera().signIn(idle, form({ email: "a@example.com", password: "nope-nope" }));
    expect(state).toMatchObject({ status: "error", code: "invalid_credentials", message: "Email or password is incorrect." });
  });
});

describe("verifyMfa", () => {
  const withChallenge = () => resetRequest({ origin: ORIGIN, "sec-fetch-site": "same-origin" }, { "__Host-tessera_mfa": "chal-1" });
  const signedIn: JsonAnswer = {
    status: 200,
    headers: [
      ["content-type", "application/json"],
      ["set-cookie", "__Host-tessera_session=new-tok; Max-Age=100; Path=/; Secure; HttpOnly; SameSite=Strict"],
      ["set-cookie", "__Host-tessera_csrf=new-csrf; Max-Age=100; Path=/; Secure; SameSite=Strict"],
      ["set-cookie", "__Host-tessera_mfa=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict"],
    ],
    body: { user: USER, session: SESSION },
  };

  it("posts the code with the challenge cookie, applies the session and goes to next", async () => {
    withChallenge();
    respond = () => signedIn;
    const url = await redirectOf(tessera().verifyMfa(idle, form({ code: " 123 456 ", next: "/account" })));
    expect(url).toBe("/account");
    expect(sent()?.url).toBe("/v1/login/mfa");
    expect(sentJson()).toEqual({ code: "123456" });
    expect(sent()?.headers.cookie).toContain("__Host-tessera_mfa=chal-1");
    expect(sent()?.headers).toMatchObject({ origin: ORIGIN, "tessera-bff-key": "k" });
    expect(request.jar.get("__Host-tessera_session")).toMatchObject({ value: "new-tok", httpOnly: true });
    expect(request.jar.get("__Host-tessera_mfa")).toMatchObject({ value: "", maxAge: 0 });
  });

  it("clears the challenge cookie itself when the answer did not", async () => {
    withChallenge();
    respond = () => ({ ...signedIn, headers: signedIn.headers?.slice(0, 3) ?? [] });
    await redirectOf(tessera().verifyMfa(idle, form({ code: "123456" })));
    expect(request.jar.get("__Host-tessera_mfa")).toMatchObject({ value: "", maxAge: 0, path: "/", secure: true });
  });

  it.each(["//evil.example", "https://evil.example/x", ""])("goes to afterSignInPath for next=%j", async (next) => {
    withChallenge();
    respond = () => signedIn;
    expect(await redirectOf(tessera().verifyMfa(idle, form(next === "" ? { code: "123456" } : { code: "123456", next })))).toBe("/dashboard");
  });

  it("posts a recovery code as recovery_code", async () => {
    withChallenge();
    respond = () => signedIn;
    await redirectOf(tessera().verifyMfa(idle, form({ recovery_code: " abcd-efgh-ijkl-mnop " })));
    expect(sentJson()).toEqual({ recovery_code: "abcd-efgh-ijkl-mnop" });
  });

  it("shows a wrong code next to its field and keeps the challenge", async () => {
    withChallenge();
    respond = () => problem(401, "mfa_code_invalid");
    const state = await tessera().verifyMfa(idle, form({ code: "000000" }));
    expect(state).toMatchObject({ status: "error", code: "mfa_code_invalid", fieldErrors: { code: expect.stringMatching(/not right/) } });
    // The field's own error says it: no second copy for the whole form.
    expect(state.message).toBeUndefined();
    expect(request.jar.get("__Host-tessera_mfa")?.value).toBe("chal-1");
    const recovery = await tessera().verifyMfa(idle, form({ recovery_code: "used-code" }));
    expect(recovery.fieldErrors).toEqual({ recovery_code: expect.stringMatching(/used already/) });
  });

  it("says to sign in again when the challenge is over, and forgets it", async () => {
    withChallenge();
    respond = () => problem(401, "mfa_challenge_invalid");
    const state = await tessera().verifyMfa(idle, form({ code: "000000" }));
    expect(state).toMatchObject({ status: "error", code: "mfa_challenge_invalid", message: expect.stringMatching(/Sign in again/) });
    expect(request.jar.get("__Host-tessera_mfa")).toMatchObject({ value: "", maxAge: 0 });
  });

  it("checks the form and the challenge before calling tessera", async () => {
    const before = upstream.received.length;
    withChallenge();
    expect((await tessera().verifyMfa(idle, form({ code: " " }))).fieldErrors).toEqual({ code: "Code is required." });
    expect((await tessera().verifyMfa(idle, form({ recovery_code: "" }))).fieldErrors).toEqual({ recovery_code: "Recovery code is required." });
    signedOut();
    expect(await tessera().verifyMfa(idle, form({ code: "123456" }))).toMatchObject({ code: "mfa_challenge_invalid" });
    expect(upstream.received.length).toBe(before);
  });

  it("reports the account's login limit and an unreachable tessera as form states", async () => {
    withChallenge();
    respond = () => problem(429, "rate_limited");
    expect(await tessera().verifyMfa(idle, form({ code: "123456" }))).toMatchObject({ code: "rate_limited", message: expect.stringMatching(/Too many attempts/) });
    const down = tessera(`http://127.0.0.1:${await closedPort()}`);
    expect(await down.verifyMfa(idle, form({ code: "123456" }))).toMatchObject({ code: "upstream_unavailable" });
  });
});

describe("TOTP enrolment", () => {
  it("sends the password and shows the secret, the URI and a QR code of it", async () => {
    respond = () => ({ status: 200, body: { secret: SECRET, otpauth_uri: URI } });
    const state = await tessera().enrollTotp(idle, form({ current_password: "pw12345678" }));
    expect(sent()).toMatchObject({ method: "POST", url: "/v1/mfa/totp" });
    expect(sent()?.headers["x-csrf-token"]).toBe("csrf-1");
    expect(sentJson()).toEqual({ current_password: "pw12345678" });
    expect(state).toMatchObject({ status: "success", totp: { secret: SECRET, otpauthUri: URI } });
    expect(state.totp?.qrSvg).toMatch(/^<svg [^>]*role="img"[^>]*><title>QR code for your authenticator app<\/title>/);
  });

  it("sends no password when none was typed (a fresh session)", async () => {
    respond = () => ({ status: 200, body: { secret: SECRET, otpauth_uri: URI } });
    await tessera().enrollTotp(idle, form({ current_password: "" }));
    expect(sentJson()).toEqual({});
  });

  it("tells a wrong password from a session that has ended", async () => {
    respond = () => problem(401, "invalid_credentials");
    const wrong = await tessera().enrollTotp(idle, form({ current_password: "nope" }));
    expect(wrong.fieldErrors).toEqual({ current_password: "Current password is incorrect." });
    respond = () => problem(401, "unauthenticated");
    expect(await redirectOf(tessera().enrollTotp(idle, form({ current_password: "pw", next: "/account/security" })))).toBe("/login?next=%2Faccount%2Fsecurity");
  });

  it("shows tessera's 422 for a wrong password (its answer for every password check) next to the field", async () => {
    const wrong = problem(422, "validation_failed", { errors: [{ field: "current_password", message: "is incorrect" }] });
    respond = () => wrong;
    expect((await tessera().enrollTotp(idle, form({ current_password: "nope" }))).fieldErrors).toEqual({ current_password: "Current password is incorrect." });
    expect((await tessera().disableTotp(idle, form({ current_password: "nope" }))).fieldErrors).toEqual({ current_password: "Current password is incorrect." });
    expect((await tessera().regenerateRecoveryCodes(idle, form({ current_password: "nope" }))).fieldErrors).toEqual({ current_password: "Current password is incorrect." });
  });

  it("asks for the password when the session is too old, and refreshes when TOTP is already on", async () => {
    respond = () => problem(403, "reauthentication_required");
    expect((await tessera().enrollTotp(idle, form({}))).fieldErrors).toEqual({ current_password: "Enter your current password." });
    respond = () => problem(409, "totp_already_enabled");
    expect(await tessera().enrollTotp(idle, form({ current_password: "pw" }))).toMatchObject({ code: "totp_already_enabled" });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("confirms with a code and hands out the recovery codes once", async () => {
    respond = () => ({ status: 200, body: { recovery_codes: CODES } });
    const state = await tessera().confirmTotp(idle, form({ code: "123 456", secret: SECRET, otpauth_uri: URI }));
    expect(sent()?.url).toBe("/v1/mfa/totp/confirm");
    expect(sentJson()).toEqual({ code: "123456" });
    expect(state).toMatchObject({ status: "success", recoveryCodes: CODES });
    expect(state.totp).toBeUndefined();
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("shows the pending QR code again after a wrong code, but nothing it did not check", async () => {
    respond = () => problem(401, "mfa_code_invalid");
    const state = await tessera().confirmTotp(idle, form({ code: "000000", secret: SECRET, otpauth_uri: URI }));
    expect(state).toMatchObject({ code: "mfa_code_invalid", fieldErrors: { code: expect.stringMatching(/not right/) }, totp: { secret: SECRET, otpauthUri: URI } });
    const forged = await tessera().confirmTotp(idle, form({ code: "000000", secret: SECRET, otpauth_uri: "javascript:alert(1)" }));
    expect(forged.totp).toBeUndefined();
    respond = () => problem(409, "totp_not_pending");
    const expired = await tessera().confirmTotp(idle, form({ code: "123456", secret: SECRET, otpauth_uri: URI }));
    expect(expired).toMatchObject({ code: "totp_not_pending", message: expect.stringMatching(/Start again/) });
    expect(expired.totp).toBeUndefined();
  });
});

describe("disableTotp and regenerateRecoveryCodes", () => {
  it("turn TOTP off with a code, or with the password when no code was typed", async () => {
    respond = () => ({ status: 204 });
    const state = await tessera().disableTotp(idle, form({ code: "123456", current_password: "ignored" }));
    expect(sent()).toMatchObject({ method: "DELETE", url: "/v1/mfa/totp" });
    expect(sentJson()).toEqual({ code: "123456" });
    expect(state.status).toBe("success");
    expect(refresh).toHaveBeenCalledTimes(1);
    await tessera().disableTotp(idle, form({ code: "", current_password: "pw12345678" }));
    expect(sentJson()).toEqual({ current_password: "pw12345678" });
  });

  it("asks for one of the two before calling tessera", async () => {
    const before = upstream.received.length;
    const state = await tessera().disableTotp(idle, form({ code: "", current_password: "" }));
    expect(state.fieldErrors?.code).toMatch(/code from your authenticator app, or your current password/);
    expect(upstream.received.length).toBe(before);
  });

  it("put a wrong code or password next to its field", async () => {
    respond = () => problem(401, "mfa_code_invalid");
    expect((await tessera().disableTotp(idle, form({ code: "000000" }))).fieldErrors).toEqual({ code: expect.stringMatching(/not right/) });
    respond = () => problem(401, "invalid_credentials");
    expect((await tessera().regenerateRecoveryCodes(idle, form({ current_password: "nope" }))).fieldErrors).toEqual({ current_password: "Current password is incorrect." });
  });

  it("give a new set of recovery codes", async () => {
    respond = () => ({ status: 200, body: { recovery_codes: CODES } });
    const state = await tessera().regenerateRecoveryCodes(idle, form({ current_password: "pw12345678" }));
    expect(sent()).toMatchObject({ method: "POST", url: "/v1/mfa/recovery-codes" });
    expect(state).toMatchObject({ status: "success", recoveryCodes: CODES });
  });

  it("say so when TOTP is not on", async () => {
    respond = () => problem(409, "totp_not_enabled");
    expect(await tessera().disableTotp(idle, form({ code: "123456" }))).toMatchObject({ code: "totp_not_enabled", message: "Two-step sign-in is already off." });
  });
});

describe("getMfaStatus and listPasskeys", () => {
  const passkey = { id: "pk_1", name: "Laptop", created_at: "2026-01-01T00:00:00Z", last_used_at: null, backup_eligible: true, backup_state: false };

  it("read tessera's answers", async () => {
    respond = (received) =>
      received.url === "/v1/mfa"
        ? { status: 200, body: { totp_enabled: true, recovery_codes_remaining: 9, passkeys: 1 } }
        : { status: 200, body: { passkeys: [passkey] } };
    expect(await tessera().getMfaStatus()).toEqual({ totp_enabled: true, recovery_codes_remaining: 9, passkeys: 1 });
    expect(sent()?.headers.origin).toBeUndefined();
    expect(await tessera().listPasskeys()).toEqual([passkey]);
  });

  it("throw unauthenticated when signed out and upstream_error on an answer of another shape", async () => {
    respond = () => problem(401, "unauthenticated");
    await expect(tessera().getMfaStatus()).rejects.toMatchObject({ code: "unauthenticated" });
    respond = () => ({ status: 200, body: { passkeys: [{ id: 1 }] } });
    await expect(tessera().listPasskeys()).rejects.toMatchObject({ code: "upstream_error" });
  });

  it("hasMfaChallenge reads only whether the challenge cookie is there", async () => {
    expect(await tessera().hasMfaChallenge()).toBe(false);
    resetRequest({}, { "__Host-tessera_mfa": "chal-1" });
    expect(await tessera().hasMfaChallenge()).toBe(true);
  });
});

describe("renamePasskey and deletePasskey", () => {
  it("rename with PATCH and refresh", async () => {
    respond = () => ({ status: 200, body: { passkey: { id: "pk_1", name: "Phone" } } });
    const state = await tessera().renamePasskey(idle, form({ id: "pk_1", name: " Phone " }));
    expect(sent()).toMatchObject({ method: "PATCH", url: "/v1/passkeys/pk_1" });
    expect(sentJson()).toEqual({ name: "Phone" });
    expect(state).toMatchObject({ status: "success", message: "The passkey is now called Phone." });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("delete with DELETE, and explain last_sign_in_method", async () => {
    respond = () => ({ status: 204 });
    expect((await tessera().deletePasskey(idle, form({ id: "pk_1" }))).status).toBe("success");
    expect(sent()).toMatchObject({ method: "DELETE", url: "/v1/passkeys/pk_1" });
    respond = () => problem(409, "last_sign_in_method");
    expect(await tessera().deletePasskey(idle, form({ id: "pk_1" }))).toMatchObject({ code: "last_sign_in_method", message: expect.stringMatching(/only way to sign in/) });
  });

  it("never put an id that is not one into the path", async () => {
    const before = upstream.received.length;
    for (const id of ["../mfa", "a/b", "", "x%2Fy"]) {
      expect(await tessera().deletePasskey(idle, form({ id }))).toMatchObject({ code: "invalid_request" });
      expect(await tessera().renamePasskey(idle, form({ id, name: "n" }))).toMatchObject({ code: "invalid_request" });
    }
    expect((await tessera().renamePasskey(idle, form({ id: "pk_1", name: "  " }))).fieldErrors).toEqual({ name: "Name is required." });
    expect(upstream.received.length).toBe(before);
  });
});

describe("the route handler lets the browser reach the second-factor and passkey endpoints", () => {
  it.each([
    "login/mfa",
    "mfa",
    "mfa/totp",
    "mfa/totp/confirm",
    "mfa/recovery-codes",
    "passkeys",
    "passkeys/pk_1",
    "passkeys/register/start",
    "passkeys/register/finish",
    "passkeys/login/start",
    "passkeys/login/finish",
  ])("%s", (path) => {
    expect(isAllowedPath(path)).toBe(true);
  });

  it.each(["passkeys/a/b", "passkeys/..%2Fmfa", "mfa/totp/secret", "passkeys/register/other", "login/mfa/x"])("but not %s", (path) => {
    expect(isAllowedPath(path)).toBe(false);
  });
});

describe("totpQrSvg", () => {
  /** The dark modules the SVG path draws, back as a matrix. */
  function drawn(path: string, size: number): boolean[][] {
    const matrix = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
    for (const [, x, y, w] of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
      for (let i = 0; i < Number(w); i += 1) matrix[Number(y)]![Number(x) + i] = true;
    }
    return matrix;
  }

  it("draws exactly the modules of the QR code, with a quiet zone of 4", () => {
    const qr = encode(URI, { ecc: "M", border: 4 });
    const svg = totpQrSvg(URI);
    const width = qr.data.length;
    expect(svg).toContain(`viewBox="0 0 ${width} ${width}"`);
    const d = /<path fill="#000" d="([^"]+)"/.exec(svg)?.[1] ?? "";
    expect(drawn(d, width)).toEqual(qr.data);
    expect(qr.data.slice(0, 4).flat().every((module) => !module)).toBe(true);
    expect(qrPath([[true, true, false, true]])).toBe("M0 0h2v1h-2zM3 0h1v1h-1z");
  });

  it("escapes its title and takes a size", () => {
    const svg = totpQrSvg(URI, { title: `<script>"&'`, size: 120 });
    expect(svg).toContain("<title>&#60;script&#62;&#34;&#38;&#39;</title>");
    expect(svg).toContain('width="120" height="120"');
    expect(svg).not.toContain("<script>");
  });
});
