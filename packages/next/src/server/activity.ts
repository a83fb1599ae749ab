import type { ConfigSource } from "../config.js";
import { TesseraError, isProblem } from "../errors.js";
import type { AuditEvent } from "../types.js";
import { callTessera } from "./request.js";
import { parseJson } from "./upstream.js";

export interface ActivityFunctions {
  /**
   * `GET /v1/account/activity`: the signed-in user's own last 50 security
   * events (sign-ins and failed ones, sign-outs, password, email and factor
   * changes, linked providers, …), newest first. Throws `TesseraError`:
   * `unauthenticated` when signed out, `upstream_*` when tessera is down or
   * answers something else (never an empty list for an outage).
   */
  getActivity(): Promise<AuditEvent[]>;
}

const PATH = "/v1/account/activity";

function nullableString(value: unknown): boolean {
  return typeof value === "string" || value === null || value === undefined;
}

/** One event, or null when it is not one; `detail` left out or null becomes `{}`. */
export function auditEventOf(value: unknown): AuditEvent | null {
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  const detail = record.detail ?? {};
  if (
    typeof record.id !== "string" ||
    typeof record.at !== "string" ||
    typeof record.kind !== "string" ||
    typeof record.actor !== "string" ||
    !nullableString(record.user_id) ||
    !nullableString(record.ip) ||
    !nullableString(record.user_agent) ||
    typeof detail !== "object" ||
    detail === null ||
    Array.isArray(detail)
  ) {
    return null;
  }
  return {
    id: record.id,
    at: record.at,
    kind: record.kind,
    user_id: (record.user_id as string | null | undefined) ?? null,
    actor: record.actor,
    ip: (record.ip as string | null | undefined) ?? null,
    user_agent: (record.user_agent as string | null | undefined) ?? null,
    detail: detail as Record<string, unknown>,
  };
}

export function createActivityFunctions(config: ConfigSource): ActivityFunctions {
  async function getActivity(): Promise<AuditEvent[]> {
    const result = await callTessera(config(), { method: "GET", path: PATH, forwardIntent: false });
    const body = parseJson(result.body);
    if (result.status === 200 && typeof body === "object" && body !== null) {
      const events = (body as Record<string, unknown>).events;
      if (Array.isArray(events)) {
        const parsed = events.map(auditEventOf);
        if (parsed.every((event): event is AuditEvent => event !== null)) return parsed;
      }
    }
    if (result.status === 401) throw new TesseraError("unauthenticated", `GET ${PATH}: not signed in`, { status: 401 });
    const code = result.status >= 500 || result.status === 429 ? "upstream_unavailable" : "upstream_error";
    throw new TesseraError(code, `GET ${PATH} answered ${result.status}`, {
      status: result.status,
      ...(isProblem(body) ? { problem: body } : {}),
    });
  }

  return { getActivity };
}
