import { refresh } from "next/cache";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import type { ConfigSource } from "../config.js";
import { MFA_COOKIE } from "../constants.js";
import { TesseraError, isProblem } from "../errors.js";
import { sanitizeRedirect, signInUrl } from "../redirect.js";
import type { MfaStatus, Passkey, TotpSetup } from "../types.js";
import type { FormAction } from "./actions.js";
import { type AuthFormState, formString, stateFromProblem, unavailableState } from "./form-state.js";
import { totpQrSvg } from "./qr.js";
import { callApplyingCookies, callTessera } from "./request.js";
import { parseJson, type UpstreamResult } from "./upstream.js";

/**
 * Second factors and passkeys (DESIGN.md "Second factors and passkeys"):
 * server helpers that read, and server actions for `useActionState` that
 * also work as plain form POSTs without JavaScript. Registering a passkey
 * and signing in with one need the browser's WebAuthn API: those are
 * `registerPasskey` and `signInWithPasskey` of `@tessera/next/client`.
 */
export interface MfaFunctions {
  /**
   * `GET /v1/mfa`: whether TOTP is on, the recovery codes left, the number
   * of passkeys. Throws `TesseraError`: `unauthenticated` when signed out,
   * `upstream_*` when tessera is down or answers something else.
   */
  getMfaStatus(): Promise<MfaStatus>;
  /** `GET /v1/passkeys`, the signed-in user's passkeys; throws as `getMfaStatus`. */
  listPasskeys(): Promise<Passkey[]>;
  /**
   * Whether this browser holds a pending second-factor challenge (the
   * `__Host-tessera_mfa` cookie a sign-in left, 5 minutes). The page at
   * `paths.mfaPath` shows its form only then; the cookie's value stays
   * HttpOnly, only its presence is read.
   */
  hasMfaChallenge(): Promise<boolean>;
  /**
   * The second step of a sign-in that answered `mfa_required` (`signIn`
   * redirected to `paths.mfaPath?next=…`). Form field `code` (6 digits from
   * the authenticator app) or `recovery_code`, optional `next`. On success
   * tessera's session cookies are applied, the challenge cookie is cleared
   * and the browser goes to `next` (sanitised) or `afterSignInPath`. A wrong
   * code gives code `mfa_code_invalid` (a field error); five of them, or a
   * challenge that expired, code `mfa_challenge_invalid`: sign in again.
   */
  verifyMfa: FormAction;
  /**
   * Starts TOTP enrolment. Form field `current_password` (may be empty when
   * the session is under 5 minutes old; else code
   * `reauthentication_required`), optional `next`. Success: state `totp`
   * with the secret, the `otpauth://` URI and its QR code as SVG; TOTP is
   * not on until `confirmTotp`.
   */
  enrollTotp: FormAction;
  /**
   * Form field `code` from the authenticator app; also `secret` and
   * `otpauth_uri` of the pending enrolment (hidden fields), only so that a
   * form re-rendered after a wrong code can show the QR code again. Success
   * turns TOTP on and gives `recoveryCodes` (10, shown once); the page's
   * data is refreshed.
   */
  confirmTotp: FormAction;
  /** Form field `code` or `current_password`. Turns TOTP off and removes the recovery codes. */
  disableTotp: FormAction;
  /** Form field `code` or `current_password`. A new set of `recoveryCodes`; the old ones stop working. */
  regenerateRecoveryCodes: FormAction;
  /** Form fields `id` and `name`. */
  renamePasskey: FormAction;
  /**
   * Form field `id`. A passkey that is the user's last way to sign in gives
   * code `last_sign_in_method`.
   */
  deletePasskey: FormAction;
}

const PASSKEY_ID = /^[A-Za-z0-9_-]{1,128}$/;
const OTPAUTH_URI = /^otpauth:\/\/totp\/[^\s]{1,2000}$/;
const BASE32 = /^[A-Za-z2-7]{16,128}=*$/;
const MAX_PASSKEY_NAME = 64;

const CODE_INVALID = "That code is not right. Check the time on your device and enter the newest code.";
const RECOVERY_CODE_INVALID = "That recovery code is not right, or was used already.";
const CHALLENGE_INVALID = "This sign-in has expired or had too many wrong codes. Sign in again.";
const PASSWORD_INCORRECT = "Current password is incorrect.";
const REAUTHENTICATE = "Enter your current password.";

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
}

export function isMfaStatus(value: unknown): value is MfaStatus {
  const body = record(value);
  return (
    body !== null &&
    typeof body.totp_enabled === "boolean" &&
    typeof body.recovery_codes_remaining === "number" &&
    typeof body.passkeys === "number"
  );
}

export function isPasskey(value: unknown): value is Passkey {
  const body = record(value);
  return (
    body !== null &&
    typeof body.id === "string" &&
    typeof body.name === "string" &&
    typeof body.created_at === "string" &&
    (typeof body.last_used_at === "string" || body.last_used_at === null)
  );
}

function recoveryCodesOf(result: UpstreamResult): string[] | null {
  const codes = record(parseJson(result.body))?.recovery_codes;
  return Array.isArray(codes) && codes.every((code) => typeof code === "string") ? codes : null;
}

/** `123 456` and `123-456` as typed or pasted: the digits only. */
export function normaliseTotpCode(value: string): string {
  return value.replace(/[\s-]/g, "");
}

/** What a pending enrolment shows: the secret, the URI and its QR code made here. */
export function totpSetup(secret: string, otpauthUri: string): TotpSetup {
  return { secret, otpauthUri, qrSvg: totpQrSvg(otpauthUri) };
}

/**
 * The second factor a form sent for a check (`disableTotp`,
 * `regenerateRecoveryCodes`): a code when one was typed, else the password;
 * null when neither was.
 */
function proof(formData: FormData): { code: string } | { current_password: string } | null {
  const code = normaliseTotpCode(formString(formData, "code"));
  if (code !== "") return { code };
  const password = formString(formData, "current_password");
  return password !== "" ? { current_password: password } : null;
}

export function createMfaFunctions(config: ConfigSource): MfaFunctions {
  async function getJson<T>(path: string, pick: (body: unknown) => T | null): Promise<T> {
    const result = await callTessera(config(), { method: "GET", path, forwardIntent: false });
    const body = parseJson(result.body);
    if (result.status === 200) {
      const picked = pick(body);
      if (picked !== null) return picked;
    }
    if (result.status === 401) throw new TesseraError("unauthenticated", `GET ${path}: not signed in`, { status: 401 });
    const code = result.status >= 500 || result.status === 429 ? "upstream_unavailable" : "upstream_error";
    throw new TesseraError(code, `GET ${path} answered ${result.status}`, { status: result.status, ...(isProblem(body) ? { problem: body } : {}) });
  }

  async function getMfaStatus(): Promise<MfaStatus> {
    return getJson("/v1/mfa", (body) => (isMfaStatus(body) ? body : null));
  }

  async function listPasskeys(): Promise<Passkey[]> {
    return getJson("/v1/passkeys", (body) => {
      const passkeys = record(body)?.passkeys;
      return Array.isArray(passkeys) && passkeys.every(isPasskey) ? passkeys : null;
    });
  }

  async function hasMfaChallenge(): Promise<boolean> {
    return Boolean((await cookies()).get(MFA_COOKIE)?.value);
  }

  async function clearChallenge(): Promise<void> {
    const store = await cookies();
    if (store.get(MFA_COOKIE)?.value) {
      store.set({ name: MFA_COOKIE, value: "", path: "/", maxAge: 0, secure: true, httpOnly: true, sameSite: "strict" });
    }
  }

  /** A signed-in action answered 401 `unauthenticated`: the session ended meanwhile, sign in again and come back. */
  function redirectWhenSignedOut(state: AuthFormState, formData: FormData): void {
    if (state.code === "unauthenticated") redirect(signInUrl(config().paths.signInPath, formString(formData, "next")));
  }

  async function verifyMfa(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const recovery = formData.has("recovery_code");
    const field = recovery ? "recovery_code" : "code";
    const value = recovery ? formString(formData, "recovery_code").trim() : normaliseTotpCode(formString(formData, "code"));
    if (value === "") {
      return { status: "error", fieldErrors: { [field]: recovery ? "Recovery code is required." : "Code is required." } };
    }
    if (!(await hasMfaChallenge())) {
      return { status: "error", code: "mfa_challenge_invalid", message: CHALLENGE_INVALID };
    }
    const resolved = config();
    const result = await callApplyingCookies(resolved, { method: "POST", path: "/v1/login/mfa", json: { [field]: value }, forwardIntent: true });
    if (!result) return unavailableState;
    if (result.status === 200) {
      // tessera cleared the challenge cookie already; clearing it here too
      // means no proxy in between can leave it behind.
      await clearChallenge();
      redirect(sanitizeRedirect(formString(formData, "next"), resolved.afterSignInPath));
    }
    const state = stateFromProblem(result.status, parseJson(result.body), {
      mfa_code_invalid: recovery ? RECOVERY_CODE_INVALID : CODE_INVALID,
      mfa_challenge_invalid: CHALLENGE_INVALID,
    });
    if (state.code === "mfa_code_invalid") return { status: "error", code: "mfa_code_invalid", fieldErrors: { [field]: recovery ? RECOVERY_CODE_INVALID : CODE_INVALID } };
    if (state.code === "mfa_challenge_invalid") await clearChallenge();
    return state;
  }

  async function enrollTotp(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const password = formString(formData, "current_password");
    const result = await callApplyingCookies(config(), {
      method: "POST",
      path: "/v1/mfa/totp",
      // Without a password tessera checks that the session is under 5 minutes old.
      json: password === "" ? {} : { current_password: password },
      forwardIntent: true,
    });
    if (!result) return unavailableState;
    if (result.status === 200) {
      const body = record(parseJson(result.body));
      if (typeof body?.secret === "string" && typeof body.otpauth_uri === "string") {
        return { status: "success", message: "Scan the QR code with your authenticator app, then enter the code it shows.", totp: totpSetup(body.secret, body.otpauth_uri) };
      }
      return { status: "error", code: "upstream_error", message: "The sign-in service answered something unexpected. Please try again." };
    }
    const state = stateFromProblem(result.status, parseJson(result.body), {
      invalid_credentials: PASSWORD_INCORRECT,
      reauthentication_required: REAUTHENTICATE,
      totp_already_enabled: "Your authenticator app is already set up.",
    });
    redirectWhenSignedOut(state, formData);
    // A field's own error says it all: no second copy for the whole form.
    if (state.code === "invalid_credentials") return { status: "error", code: state.code, fieldErrors: { current_password: PASSWORD_INCORRECT } };
    if (state.code === "reauthentication_required") return { status: "error", code: state.code, fieldErrors: { current_password: REAUTHENTICATE } };
    if (state.code === "totp_already_enabled") refresh();
    return state;
  }

  async function confirmTotp(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    // The pending enrolment as the form carried it, shown again after a wrong
    // code (a form re-rendered without JavaScript has nothing else); the
    // server never reads it, and the QR code is made from it here.
    const secret = formString(formData, "secret");
    const uri = formString(formData, "otpauth_uri");
    const pending = BASE32.test(secret) && OTPAUTH_URI.test(uri) ? { totp: totpSetup(secret, uri) } : {};
    const code = normaliseTotpCode(formString(formData, "code"));
    if (code === "") return { status: "error", fieldErrors: { code: "Code is required." }, ...pending };
    const result = await callApplyingCookies(config(), { method: "POST", path: "/v1/mfa/totp/confirm", json: { code }, forwardIntent: true });
    if (!result) return { ...unavailableState, ...pending };
    if (result.status === 200) {
      const codes = recoveryCodesOf(result);
      refresh();
      return {
        status: "success",
        message: "Two-step sign-in is on. Save your recovery codes now: they are shown only once.",
        ...(codes ? { recoveryCodes: codes } : {}),
      };
    }
    const state = stateFromProblem(result.status, parseJson(result.body), {
      mfa_code_invalid: CODE_INVALID,
      totp_not_pending: "This set-up has expired or was finished elsewhere. Start again.",
    });
    redirectWhenSignedOut(state, formData);
    if (state.code === "mfa_code_invalid") return { status: "error", code: state.code, fieldErrors: { code: CODE_INVALID }, ...pending };
    if (state.code === "totp_not_pending") refresh();
    return state;
  }

  /** The shared half of `disableTotp` and `regenerateRecoveryCodes`: a code or the password, then the call. */
  async function withProof(
    formData: FormData,
    call: (json: Record<string, string>) => Promise<UpstreamResult | null>,
    success: (result: UpstreamResult) => AuthFormState,
    messages: Partial<Record<string, string>>,
  ): Promise<AuthFormState> {
    const json = proof(formData);
    if (!json) return { status: "error", fieldErrors: { code: "Enter a code from your authenticator app, or your current password." } };
    const result = await call(json);
    if (!result) return unavailableState;
    if (result.status === 200 || result.status === 204) return success(result);
    const state = stateFromProblem(result.status, parseJson(result.body), {
      mfa_code_invalid: CODE_INVALID,
      invalid_credentials: PASSWORD_INCORRECT,
      reauthentication_required: REAUTHENTICATE,
      ...messages,
    });
    redirectWhenSignedOut(state, formData);
    if (state.code === "mfa_code_invalid") return { status: "error", code: state.code, fieldErrors: { code: CODE_INVALID } };
    if (state.code === "invalid_credentials") return { status: "error", code: state.code, fieldErrors: { current_password: PASSWORD_INCORRECT } };
    return state;
  }

  async function disableTotp(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    return withProof(
      formData,
      (json) => callApplyingCookies(config(), { method: "DELETE", path: "/v1/mfa/totp", json, forwardIntent: true }),
      () => {
        refresh();
        return { status: "success", message: "Two-step sign-in is off, and your recovery codes no longer work." };
      },
      { totp_not_enabled: "Two-step sign-in is already off." },
    );
  }

  async function regenerateRecoveryCodes(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    return withProof(
      formData,
      (json) => callApplyingCookies(config(), { method: "POST", path: "/v1/mfa/recovery-codes", json, forwardIntent: true }),
      (result) => {
        const codes = recoveryCodesOf(result);
        refresh();
        return {
          status: "success",
          message: "New recovery codes: save them now, they are shown only once. The old ones no longer work.",
          ...(codes ? { recoveryCodes: codes } : {}),
        };
      },
      { totp_not_enabled: "Turn on two-step sign-in first." },
    );
  }

  function passkeyId(formData: FormData): string | null {
    const id = formString(formData, "id");
    return PASSKEY_ID.test(id) ? id : null;
  }

  async function renamePasskey(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const id = passkeyId(formData);
    if (!id) return { status: "error", code: "invalid_request", message: "Choose a passkey to rename." };
    const name = formString(formData, "name").trim();
    if (name === "") return { status: "error", fieldErrors: { name: "Name is required." } };
    if (name.length > MAX_PASSKEY_NAME) return { status: "error", fieldErrors: { name: `Name must be at most ${MAX_PASSKEY_NAME} characters.` } };
    const result = await callApplyingCookies(config(), { method: "PATCH", path: `/v1/passkeys/${id}`, json: { name }, forwardIntent: true });
    if (!result) return unavailableState;
    if (result.status === 200) {
      refresh();
      return { status: "success", message: `The passkey is now called ${name}.` };
    }
    const state = stateFromProblem(result.status, parseJson(result.body));
    redirectWhenSignedOut(state, formData);
    if (result.status === 404) {
      refresh();
      return { ...state, code: state.code ?? "not_found", message: "That passkey no longer exists." };
    }
    return state;
  }

  async function deletePasskey(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const id = passkeyId(formData);
    if (!id) return { status: "error", code: "invalid_request", message: "Choose a passkey to delete." };
    const result = await callApplyingCookies(config(), { method: "DELETE", path: `/v1/passkeys/${id}`, forwardIntent: true });
    if (!result) return unavailableState;
    if (result.status === 204 || result.status === 200) {
      refresh();
      return { status: "success", message: "The passkey is deleted." };
    }
    const state = stateFromProblem(result.status, parseJson(result.body), {
      last_sign_in_method: "This passkey is your only way to sign in: set a password or link a provider before you delete it.",
    });
    redirectWhenSignedOut(state, formData);
    if (result.status === 404) {
      // Already gone (another tab, another device): show the list as it is now.
      refresh();
      return { ...state, code: state.code ?? "not_found", message: "That passkey no longer exists." };
    }
    return state;
  }

  return {
    getMfaStatus,
    listPasskeys,
    hasMfaChallenge,
    verifyMfa,
    enrollTotp,
    confirmTotp,
    disableTotp,
    regenerateRecoveryCodes,
    renamePasskey,
    deletePasskey,
  };
}
