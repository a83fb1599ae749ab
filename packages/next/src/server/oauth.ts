import { refresh } from "next/cache";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import type { ConfigSource } from "../config.js";
import { TesseraError, isProblem, isTesseraError } from "../errors.js";
import { OAUTH_ERROR_MESSAGES, PROVIDER_NAME_PATTERN, defaultProviderLabel, isProviderName } from "../oauth.js";
import { signInUrl } from "../redirect.js";
import type { Identity, OAuthProvider } from "../types.js";
import type { FormAction } from "./actions.js";
import { applySetCookies } from "./cookies.js";
import { type AuthFormState, formString, stateFromProblem, unavailableState } from "./form-state.js";
import { callTessera } from "./request.js";
import { parseJson, type UpstreamResult } from "./upstream.js";

/** Where the kit reads its settings; `process.env` unless a test passes its own. */
export type OAuthEnv = Readonly<Record<string, string | undefined>>;

/** `TESSERA_OAUTH_<NAME>_LABEL`: the name upper-cased, `-` written as `_`. */
export function providerLabelVariable(name: string): string {
  return `TESSERA_OAUTH_${name.toUpperCase().replace(/-/g, "_")}_LABEL`;
}

/**
 * What buttons call provider `name`: `TESSERA_OAUTH_<NAME>_LABEL` when set,
 * else "GitHub" for `github` and the name capitalised for the rest.
 */
export function oauthProviderLabel(name: string, env: OAuthEnv = process.env): string {
  const configured = env[providerLabelVariable(name)]?.trim();
  return configured ? configured : defaultProviderLabel(name);
}

/**
 * The providers to offer, from `TESSERA_OAUTH_PROVIDERS` (comma-separated,
 * the same variable tessera reads): `[{ name, label }]` in that order, empty
 * when unset. A name tessera would not accept is a `config_invalid` error
 * rather than a button that leads nowhere.
 */
export function getOAuthProviders(env: OAuthEnv = process.env): OAuthProvider[] {
  const raw = env.TESSERA_OAUTH_PROVIDERS ?? "";
  const providers: OAuthProvider[] = [];
  for (const entry of raw.split(",")) {
    const name = entry.trim();
    if (name === "") continue;
    if (!isProviderName(name)) {
      throw new TesseraError(
        "config_invalid",
        `TESSERA_OAUTH_PROVIDERS: ${JSON.stringify(name)} is not a provider name (lower-case letters, digits, "_" and "-": ${PROVIDER_NAME_PATTERN})`,
      );
    }
    if (providers.some((provider) => provider.name === name)) continue;
    providers.push({ name, label: oauthProviderLabel(name, env) });
  }
  return providers;
}

export function isIdentity(value: unknown): value is Identity {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.provider === "string" &&
    typeof record.subject === "string" &&
    (typeof record.email === "string" || record.email === null) &&
    typeof record.created_at === "string"
  );
}

export interface IdentityFunctions {
  /**
   * The provider accounts linked to the signed-in user (`GET /v1/identities`).
   * Throws `TesseraError`: `unauthenticated` when signed out, `upstream_*`
   * when tessera is down or answers something else.
   */
  listIdentities(): Promise<Identity[]>;
  /**
   * Server action: form field `provider` (and optional `next`, where to come
   * back after signing in again). `DELETE /v1/identities/{provider}` with the
   * CSRF header; refreshes the page's data on success. A provider that is the
   * last way to sign in gives an error state with code `last_sign_in_method`.
   */
  unlinkIdentity: FormAction;
}

export function createIdentityFunctions(config: ConfigSource, env: OAuthEnv = process.env): IdentityFunctions {
  async function listIdentities(): Promise<Identity[]> {
    const result = await callTessera(config(), { method: "GET", path: "/v1/identities", forwardIntent: false });
    const body = parseJson(result.body);
    if (result.status === 200 && typeof body === "object" && body !== null) {
      const identities = (body as Record<string, unknown>).identities;
      if (Array.isArray(identities) && identities.every(isIdentity)) return identities;
    }
    if (result.status === 401) {
      throw new TesseraError("unauthenticated", "GET /v1/identities: not signed in", { status: 401 });
    }
    const code = result.status >= 500 || result.status === 429 ? "upstream_unavailable" : "upstream_error";
    throw new TesseraError(code, `GET /v1/identities answered ${result.status}`, {
      status: result.status,
      ...(isProblem(body) ? { problem: body } : {}),
    });
  }

  async function unlinkIdentity(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
    const provider = formString(formData, "provider");
    if (!isProviderName(provider)) {
      return { status: "error", code: "invalid_request", message: "Choose a sign-in method to unlink." };
    }
    let result: UpstreamResult;
    try {
      result = await callTessera(config(), { method: "DELETE", path: `/v1/identities/${provider}`, forwardIntent: true });
    } catch (error) {
      if (isTesseraError(error)) return unavailableState;
      throw error;
    }
    applySetCookies(result.headers.getSetCookie(), await cookies());
    const label = oauthProviderLabel(provider, env);
    if (result.status === 204 || result.status === 200) {
      refresh();
      return { status: "success", message: `${label} is no longer linked to your account.` };
    }
    if (result.status === 401) redirect(signInUrl(config().paths.signInPath, formString(formData, "next")));
    const state = stateFromProblem(result.status, parseJson(result.body), {
      last_sign_in_method: OAUTH_ERROR_MESSAGES.last_sign_in_method,
    });
    if (result.status === 404) {
      // Already gone (another tab, another device): show the list as it is now.
      refresh();
      return { ...state, code: state.code ?? "not_found", message: `${label} is not linked to your account.` };
    }
    return state;
  }

  return { listIdentities, unlinkIdentity };
}
