import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify } from "jose";
import { baseUrl } from "./fixtures.js";
import { fetchJwks } from "./tessera.js";

export interface ResourceServer {
  url: string;
  /** Status of every answer, in order. */
  statuses: number[];
  close(): Promise<void>;
}

/**
 * A resource server in miniature: 200 `{sub, sid}` for a Bearer JWT that
 * verifies against tessera's JWKS (EdDSA, issuer, audience), 401 otherwise.
 */
export async function startResourceServer(): Promise<ResourceServer> {
  const { keys } = await fetchJwks();
  const statuses: number[] = [];
  const server = createServer((request, response) => {
    const answer = (status: number, body: unknown) => {
      statuses.push(status);
      response.writeHead(status, { "content-type": "application/json", ...(status === 401 ? { "www-authenticate": "Bearer" } : {}) });
      response.end(JSON.stringify(body));
    };
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    if (!token) return answer(401, { error: "invalid_token" });
    jwtVerify(token, keys, { issuer: baseUrl(), audience: "tessera", algorithms: ["EdDSA"] }).then(
      ({ payload }) => answer(200, { sub: payload.sub, sid: payload.sid }),
      () => answer(401, { error: "invalid_token" }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`,
    statuses,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
