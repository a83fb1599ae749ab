import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const webauthn = vi.hoisted(() => ({
  supported: true,
  startRegistration: vi.fn(),
  startAuthentication: vi.fn(),
}));

vi.mock("@simplewebauthn/browser", () => ({
  browserSupportsWebAuthn: () => webauthn.supported,
  startRegistration: webauthn.startRegistration,
  startAuthentication: webauthn.startAuthentication,
}));

const { passkeyErrorMessage, registerPasskey, signInWithPasskey } = await import("../src/client/passkeys.js");
const { TesseraError } = await import("../src/errors.js");

interface Sent {
  url: string;
  method: string;
  headers: Headers;
  body: unknown;
}

let sent: Sent[];
let answers: Response[];

const CREATION = { rp: { id: "localhost", name: "Tessera" }, user: { id: "dQ", name: "a@example.com", displayName: "A" }, challenge: "Y2g", pubKeyCredParams: [] };
const REQUEST = { challenge: "Y2g", rpId: "localhost", allowCredentials: [] };
const REGISTRATION = { id: "cred", rawId: "cred", type: "public-key", response: { clientDataJSON: "x", attestationObject: "y" }, clientExtensionResults: {} };
const ASSERTION = { id: "cred", rawId: "cred", type: "public-key", response: { clientDataJSON: "x", authenticatorData: "y", signature: "z" }, clientExtensionResults: {} };
const PASSKEY = { id: "pk_1", name: "Laptop", created_at: "2026-01-01T00:00:00Z", last_used_at: null, backup_eligible: false, backup_state: false };
const problem = (status: number, code: string) =>
  Response.json({ type: `urn:tessera:error:${code}`, title: "x", status, code }, { status, headers: { "content-type": "application/problem+json" } });

beforeEach(() => {
  sent = [];
  answers = [];
  webauthn.supported = true;
  webauthn.startRegistration.mockReset().mockResolvedValue(REGISTRATION);
  webauthn.startAuthentication.mockReset().mockResolvedValue(ASSERTION);
  vi.stubGlobal("location", new URL("http://localhost:3000/account/security"));
  vi.stubGlobal("document", { cookie: "__Host-tessera_csrf=csrf-1" });
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    sent.push({ url: String(input), method: init?.method ?? "GET", headers: new Headers(init?.headers), body: JSON.parse(String(init?.body ?? "null")) });
    const next = answers.shift();
    if (!next) throw new Error(`no answer for ${String(input)}`);
    return next;
  });
});
afterEach(() => vi.unstubAllGlobals());

describe("registerPasskey", () => {
  it("starts, hands tessera's publicKey options to the browser and finishes with the flow, the credential and the name", async () => {
    answers = [Response.json({ flow: "flow-1", options: { publicKey: CREATION } }), Response.json({ passkey: PASSKEY }, { status: 201 })];
    expect(await registerPasskey(" Laptop ")).toEqual(PASSKEY);
    expect(sent.map((s) => [s.method, s.url])).toEqual([
      ["POST", "/api/auth/passkeys/register/start"],
      ["POST", "/api/auth/passkeys/register/finish"],
    ]);
    expect(sent.every((s) => s.headers.get("x-csrf-token") === "csrf-1")).toBe(true);
    expect(sent[0]?.body).toEqual({});
    expect(webauthn.startRegistration).toHaveBeenCalledWith({ optionsJSON: CREATION });
    expect(sent[1]?.body).toEqual({ flow: "flow-1", credential: REGISTRATION, name: "Laptop" });
  });

  it("sends no name when none was given, and uses the app's base path", async () => {
    answers = [Response.json({ flow: "f", options: { publicKey: CREATION } }), Response.json({ passkey: PASSKEY }, { status: 201 })];
    await registerPasskey(undefined, { paths: { basePath: "/bff/auth" } });
    expect(sent[1]?.url).toBe("/bff/auth/passkeys/register/finish");
    expect(sent[1]?.body).toEqual({ flow: "f", credential: REGISTRATION });
  });

  it("turns a cancelled prompt into passkey_cancelled and never calls finish", async () => {
    answers = [Response.json({ flow: "f", options: { publicKey: CREATION } })];
    webauthn.startRegistration.mockRejectedValue(Object.assign(new Error("The operation either timed out or was not allowed."), { name: "NotAllowedError" }));
    const error = await registerPasskey().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "passkey_cancelled" });
    expect(sent).toHaveLength(1);
    expect(passkeyErrorMessage(error)).toMatch(/closed or refused/);
  });

  it("reports a signed-out start as unauthenticated and a refused credential with tessera's problem", async () => {
    answers = [problem(401, "unauthenticated")];
    await expect(registerPasskey()).rejects.toMatchObject({ code: "unauthenticated", status: 401 });
    answers = [Response.json({ flow: "f", options: { publicKey: CREATION } }), problem(400, "passkey_invalid")];
    const error = await registerPasskey().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "request_failed", problem: { code: "passkey_invalid" } });
    expect(passkeyErrorMessage(error)).toMatch(/could not be verified/);
    answers = [Response.json({ flow: "f", options: { publicKey: CREATION } }), problem(409, "passkey_exists")];
    expect(passkeyErrorMessage(await registerPasskey().catch((e: unknown) => e))).toBe("This passkey is registered already.");
  });

  it("does not ask the browser when it has no WebAuthn", async () => {
    webauthn.supported = false;
    answers = [Response.json({ flow: "f", options: { publicKey: CREATION } })];
    await expect(registerPasskey()).rejects.toMatchObject({ code: "passkey_unsupported" });
    expect(webauthn.startRegistration).not.toHaveBeenCalled();
  });
});

describe("signInWithPasskey", () => {
  const data = { user: { id: "u1", email: "a@example.com" }, session: { id: "s1", amr: ["hwk", "mfa"] } };

  it("starts, asks the browser for a discoverable credential and finishes with it", async () => {
    vi.stubGlobal("document", { cookie: "" });
    answers = [Response.json({ flow: "flow-2", options: { publicKey: REQUEST } }), Response.json(data)];
    expect(await signInWithPasskey()).toEqual(data);
    expect(sent.map((s) => s.url)).toEqual(["/api/auth/passkeys/login/start", "/api/auth/passkeys/login/finish"]);
    expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: REQUEST });
    expect(sent[1]?.body).toEqual({ flow: "flow-2", credential: ASSERTION });
    expect(sent[1]?.headers.get("x-csrf-token")).toBeNull();
  });

  it("rejects an unknown passkey with tessera's passkey_invalid", async () => {
    answers = [Response.json({ flow: "f", options: { publicKey: REQUEST } }), problem(401, "passkey_invalid")];
    await expect(signInWithPasskey()).rejects.toMatchObject({ code: "request_failed", status: 401, problem: { code: "passkey_invalid" } });
  });

  it("rejects a start answer without options as request_failed", async () => {
    answers = [Response.json({ flow: "f" })];
    await expect(signInWithPasskey()).rejects.toBeInstanceOf(TesseraError);
    expect(webauthn.startAuthentication).not.toHaveBeenCalled();
  });
});
