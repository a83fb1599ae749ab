import { isTesseraError } from "@tessera/next";
import { tessera } from "@/lib/auth";
import { readClaims } from "@/lib/token-claims";

/**
 * A server component: asks the kit for an access token (the session grant,
 * cached per session) as a page would before calling a resource server, and
 * shows what it is good for. The token itself never reaches the page.
 */
export async function ApiAccess() {
  let token: string;
  try {
    token = await tessera.getAccessToken();
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    return (
      <div className="panel" data-testid="api-access">
        <h2>API access</h2>
        <p data-testid="api-access-error">No access token ({error.code}).</p>
      </div>
    );
  }
  const claims = readClaims(token);
  const session = await tessera.getSession(); // the same call requireUser made: deduplicated
  const validFor = claims ? Math.max(0, claims.exp - Math.floor(Date.now() / 1000)) : 0;
  const matches = claims !== null && claims.sid === session?.session.id;
  return (
    <div className="panel" data-testid="api-access">
      <h2>API access</h2>
      <p>
        Access token for APIs: valid for <strong data-testid="api-token-ttl">{validFor}</strong> s.
      </p>
      <p>
        Bound to this session: <strong data-testid="api-token-sid-match">{matches ? "yes" : "no"}</strong>
      </p>
      <p className="muted">Fetched on the server; send it as a Bearer token to resource servers, which verify it with tessera&apos;s JWKS.</p>
    </div>
  );
}
