import type { Problem } from "./types.js";

/**
 * Every failure the kit raises carries one of these codes, so callers branch
 * on `error.code` rather than on message text (the jose `JOSEError` pattern).
 */
export type TesseraErrorCode =
  | "config_invalid"
  | "upstream_timeout"
  | "upstream_unavailable"
  | "upstream_error"
  | "unauthenticated"
  | "invalid_grant"
  | "token_refresh_failed"
  | "request_failed"
  /** The browser has no WebAuthn (`registerPasskey`, `signInWithPasskey`). */
  | "passkey_unsupported"
  /** The browser's passkey prompt was cancelled, timed out or refused. */
  | "passkey_cancelled"
  /** `/v1/admin/*` refused: the signed-in user does not have the `admin` role (the admin helpers). */
  | "admin_required"
  /**
   * `/v1/admin/*` refused an administrator whose session did not prove a
   * second factor (`amr` has no `mfa`): sign in with an authenticator app
   * code or a passkey first (the admin helpers).
   */
  | "second_factor_required";

export interface TesseraErrorOptions {
  status?: number;
  problem?: Problem;
  cause?: unknown;
}

export class TesseraError extends Error {
  readonly code: TesseraErrorCode;
  /** HTTP status of the answer that caused this error, when there was one. */
  readonly status: number | undefined;
  /** The server's problem document, when it sent one. */
  readonly problem: Problem | undefined;

  constructor(code: TesseraErrorCode, message: string, options: TesseraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TesseraError";
    this.code = code;
    this.status = options.status;
    this.problem = options.problem;
  }
}

export function isTesseraError(value: unknown): value is TesseraError {
  return value instanceof TesseraError;
}

/** Narrows an unknown JSON value to a problem document. */
export function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.status === "number" && typeof record.code === "string";
}
