import { isProblem } from "../errors.js";
import type { AuthFormState } from "../types.js";

export type { AuthFormState };

export function formString(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === "string" ? value : "";
}

/** Field errors for empty required fields, checked before calling tessera. */
export function requiredFields(formData: FormData, fields: Record<string, string>): Partial<Record<string, string>> | undefined {
  const errors: Partial<Record<string, string>> = {};
  for (const [field, label] of Object.entries(fields)) {
    if (formString(formData, field).trim() === "") errors[field] = `${label} is required.`;
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/** How the kit's forms name tessera's fields in messages. */
export const FIELD_LABELS: Readonly<Record<string, string>> = {
  email: "Email",
  password: "Password",
  name: "Name",
  current_password: "Current password",
  new_password: "New password",
  new_email: "New email",
};

/**
 * tessera's field messages are fragments ("must be at least 8 characters", "is
 * incorrect") meant to follow the field's name; make them sentences.
 */
export function fieldSentence(field: string, message: string): string {
  const label = FIELD_LABELS[field];
  if (!label || !/^[a-z]/.test(message)) return message;
  return `${label} ${message}${/[.!?]$/.test(message) ? "" : "."}`;
}

/** Turns a tessera error answer into form state, in words a person can act on. */
export function stateFromProblem(status: number, body: unknown, messages: Partial<Record<string, string>> = {}): AuthFormState {
  const code = isProblem(body) ? body.code : undefined;
  const state: AuthFormState = { status: "error" };
  if (code !== undefined) state.code = code;
  if (isProblem(body) && body.errors && body.errors.length > 0) {
    const fieldErrors: Partial<Record<string, string>> = {};
    for (const error of body.errors) fieldErrors[error.field] ??= fieldSentence(error.field, error.message);
    state.fieldErrors = fieldErrors;
    state.message = messages[code ?? ""] ?? "Please correct the highlighted fields.";
    return state;
  }
  const custom = messages[code ?? ""];
  if (custom) {
    state.message = custom;
  } else if (status === 429) {
    state.message = "Too many attempts. Please wait a moment and try again.";
  } else if (status === 503 || status === 504) {
    state.message = "The sign-in service is busy or unavailable. Please try again shortly.";
  } else if (status === 403) {
    state.message = "This request was refused. Reload the page and try again.";
  } else {
    state.message = (isProblem(body) && (body.detail ?? body.title)) || `Request failed (${status}).`;
  }
  return state;
}

export const unavailableState: AuthFormState = {
  status: "error",
  code: "upstream_unavailable",
  message: "The sign-in service is unavailable. Please try again shortly.",
};
