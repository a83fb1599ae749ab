import { browserSupportsWebAuthn, startAuthentication, startRegistration } from "@simplewebauthn/browser";
import { TesseraError, isProblem, isTesseraError } from "../errors.js";
import { type AuthPathsInput, defineAuthPaths } from "../paths.js";
import type { Passkey, SessionData } from "../types.js";
import { authFetch } from "./auth-fetch.js";

export interface PasskeyOptions {
  /** The app's paths from `defineAuthPaths` (default base path `/api/auth`). */
  paths?: AuthPathsInput;
}

/**
 * What tessera's `start` endpoints answer: an opaque flow id and the
 * WebAuthn options as JSON (base64url strings), handed to
 * `@simplewebauthn/browser` as they are.
 */
interface Ceremony<T> {
  flow: string;
  publicKey: T;
}

type CreationOptions = Parameters<typeof startRegistration>[0]["optionsJSON"];
type RequestOptions = Parameters<typeof startAuthentication>[0]["optionsJSON"];

async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await authFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch (cause) {
    throw new TesseraError("upstream_unavailable", `${url}: the network request failed`, { cause });
  }
  return { status: response.status, body: await response.json().catch(() => null) };
}

function failure(url: string, answer: { status: number; body: unknown }): TesseraError {
  const problem = isProblem(answer.body) ? answer.body : undefined;
  const code = answer.status === 401 && problem?.code === "unauthenticated" ? "unauthenticated" : answer.status === 503 ? "upstream_unavailable" : "request_failed";
  return new TesseraError(code, `${url} answered ${answer.status}${problem ? ` (${problem.code})` : ""}`, {
    status: answer.status,
    ...(problem ? { problem } : {}),
  });
}

function ceremony<T>(url: string, answer: { status: number; body: unknown }): Ceremony<T> {
  const body = typeof answer.body === "object" && answer.body !== null ? (answer.body as Record<string, unknown>) : null;
  const options = body?.options;
  const publicKey = typeof options === "object" && options !== null ? (options as Record<string, unknown>).publicKey : undefined;
  if (answer.status !== 200 || typeof body?.flow !== "string" || typeof publicKey !== "object" || publicKey === null) throw failure(url, answer);
  return { flow: body.flow, publicKey: publicKey as T };
}

/** The browser's own refusal (no WebAuthn, the person cancelled, no matching passkey) as a `passkey_*` error. */
async function ask<T>(run: () => Promise<T>): Promise<T> {
  if (!browserSupportsWebAuthn()) throw new TesseraError("passkey_unsupported", "this browser does not support passkeys (WebAuthn)");
  try {
    return await run();
  } catch (cause) {
    if (isTesseraError(cause)) throw cause;
    throw new TesseraError("passkey_cancelled", cause instanceof Error ? cause.message : "the passkey prompt was cancelled", { cause });
  }
}

/**
 * Registers a passkey for the signed-in user (tessera's
 * `passkeys/register/start` and `finish` through the app's route handler,
 * with the CSRF header) and resolves to the new passkey. `name` is what the
 * list shows (tessera picks one when left out). Rejects with a
 * `TesseraError`: `passkey_unsupported`, `passkey_cancelled` (the person
 * closed the prompt, or the authenticator refused), `unauthenticated`, or
 * `request_failed` with tessera's problem (e.g. code `passkey_invalid`).
 */
export async function registerPasskey(name?: string, options: PasskeyOptions = {}): Promise<Passkey> {
  const { basePath } = defineAuthPaths(options.paths);
  const startUrl = `${basePath}/passkeys/register/start`;
  const started = ceremony<CreationOptions>(startUrl, await post(startUrl, {}));
  const credential = await ask(() => startRegistration({ optionsJSON: started.publicKey }));
  const finishUrl = `${basePath}/passkeys/register/finish`;
  const trimmed = name?.trim();
  const finished = await post(finishUrl, { flow: started.flow, credential, ...(trimmed ? { name: trimmed } : {}) });
  const passkey = typeof finished.body === "object" && finished.body !== null ? (finished.body as Record<string, unknown>).passkey : undefined;
  if ((finished.status !== 201 && finished.status !== 200) || typeof passkey !== "object" || passkey === null) throw failure(finishUrl, finished);
  return passkey as Passkey;
}

/**
 * Signs in with a passkey (discoverable credentials: the browser offers the
 * passkeys it holds for this site, no email is asked). tessera sets the
 * session cookies on the answer; resolves to the new `{user, session}`
 * (its `amr` is `["hwk", "mfa"]`: no second factor is asked). Then
 * navigate, e.g. `location.assign(next)`, so the server renders signed in.
 * Rejects as {@link registerPasskey}; an unknown or refused passkey is
 * `request_failed` with problem code `passkey_invalid`.
 */
export async function signInWithPasskey(options: PasskeyOptions = {}): Promise<SessionData> {
  const { basePath } = defineAuthPaths(options.paths);
  const startUrl = `${basePath}/passkeys/login/start`;
  const started = ceremony<RequestOptions>(startUrl, await post(startUrl, {}));
  const credential = await ask(() => startAuthentication({ optionsJSON: started.publicKey }));
  const finishUrl = `${basePath}/passkeys/login/finish`;
  const finished = await post(finishUrl, { flow: started.flow, credential });
  const body = finished.body as Partial<SessionData> | null;
  if (finished.status !== 200 || typeof body?.user !== "object" || typeof body.session !== "object") throw failure(finishUrl, finished);
  return body as SessionData;
}

/** A sentence for a person, for an error of {@link registerPasskey} or {@link signInWithPasskey}. */
export function passkeyErrorMessage(error: unknown): string {
  if (!isTesseraError(error)) return "Something went wrong with the passkey. Please try again.";
  switch (error.code) {
    case "passkey_unsupported":
      return "This browser does not support passkeys.";
    case "passkey_cancelled":
      return "The passkey prompt was closed or refused. Try again when you are ready.";
    case "unauthenticated":
      return "Your session has ended. Sign in again.";
    case "upstream_unavailable":
      return "The sign-in service is unavailable. Please try again shortly.";
    default:
      break;
  }
  switch (error.problem?.code) {
    case "passkey_invalid":
      return "That passkey is not registered here, or could not be verified.";
    case "passkey_exists":
      return "This passkey is registered already.";
    case "rate_limited":
      return "Too many attempts. Please wait a moment and try again.";
    default:
      return error.problem?.detail ?? "The passkey could not be used. Please try again.";
  }
}
