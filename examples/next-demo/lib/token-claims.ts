import "server-only";

/** The access-token claims the dashboard shows. */
export interface AccessTokenClaims {
  sid: string;
  exp: number;
}

/**
 * Reads (does not verify) a JWT's payload, for display only: the token came
 * straight from tessera to this server. Resource servers must verify it
 * against tessera's JWKS. Null when it is not a JWT with `sid` and `exp`.
 */
export function readClaims(token: string): AccessTokenClaims | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    if (typeof claims !== "object" || claims === null) return null;
    const { sid, exp } = claims as Record<string, unknown>;
    return typeof sid === "string" && typeof exp === "number" ? { sid, exp } : null;
  } catch {
    return null;
  }
}
