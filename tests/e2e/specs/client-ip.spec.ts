import { randomUUID } from "node:crypto";
import type { APIRequestContext, APIResponse, PlaywrightWorkerArgs } from "@playwright/test";
import { baseUrl, expect, shippedUrl, test } from "../support/fixtures.js";

// Issue 18 item 2: the demo as shipped, under `next start` facing clients
// directly (no proxy). Next passes a client-sent X-Forwarded-For through
// unchanged, so the demo must trust no forwarded header by default: tessera
// gets no client IP, whatever the client claims.

const SPOOFED = "203.0.113.99";
const LOCKOUT_ADDRESS = "203.0.113.98";

/** A JSON POST to the shipped demo's auth API, claiming `address` in both headers a client could try. */
function post(request: APIRequestContext, path: string, body: unknown, address?: string): Promise<APIResponse> {
  return request.post(`${shippedUrl()}/api/auth/${path}`, {
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      origin: baseUrl(),
      ...(address ? { "x-forwarded-for": address, "tessera-client-ip": address } : {}),
    },
    data: body,
    failOnStatusCode: false,
  });
}

/** The Cookie header that carries the session a response set. */
function sessionCookie(response: APIResponse): string {
  return response
    .headersArray()
    .filter(({ name }) => name.toLowerCase() === "set-cookie")
    .map(({ value }) => value.split(";", 1)[0] ?? "")
    .filter((pair) => pair.startsWith("__Host-tessera_"))
    .join("; ");
}

/**
 * Signs in through the shipped demo (register or login) claiming `address`,
 * in a request context of its own, and reads back the IP tessera recorded
 * for that session, as the device list shows it.
 */
async function ipOfNewSession(
  playwright: PlaywrightWorkerArgs["playwright"],
  path: "register" | "login",
  body: unknown,
  address?: string,
): Promise<{ status: number; ip: string | null | undefined }> {
  const request = await playwright.request.newContext();
  try {
    const signedIn = await post(request, path, body, address);
    const status = signedIn.status();
    if (status !== 200 && status !== 201) return { status, ip: undefined };
    const response = await request.get(`${shippedUrl()}/api/auth/sessions`, {
      headers: { cookie: sessionCookie(signedIn), accept: "application/json", ...(address ? { "x-forwarded-for": address } : {}) },
      failOnStatusCode: false,
    });
    expect(response.status()).toBe(200);
    const { sessions } = (await response.json()) as { sessions: { ip: string | null; current: boolean }[] };
    return { status, ip: sessions.find((session) => session.current)?.ip };
  } finally {
    await request.dispose();
  }
}

test("as shipped, a client-sent X-Forwarded-For or Tessera-Client-Ip never becomes the session's IP", async ({ playwright, account }) => {
  const credentials = { email: account.email, password: account.password };
  expect(await ipOfNewSession(playwright, "register", { ...credentials, name: account.name }, SPOOFED)).toEqual({ status: 201, ip: null });
  expect(await ipOfNewSession(playwright, "login", credentials, SPOOFED)).toEqual({ status: 200, ip: null });
  // No header from the client: `next start` fills X-Forwarded-For from the
  // socket, and that is not believed either (nothing tells it from one a
  // client wrote).
  expect(await ipOfNewSession(playwright, "login", credentials)).toEqual({ status: 200, ip: null });
});

test("as shipped, 101 failed logins 'from' a spoofed address lock nobody out of it", async ({ playwright, account }) => {
  const request = await playwright.request.newContext();
  try {
    const registered = await post(request, "register", { email: account.email, password: account.password, name: account.name });
    expect(registered.status()).toBe(201);
    // One past tessera's per-address limit (100 in 15 min), each for another
    // unknown email so that no account limit is reached. Were the spoofed
    // address believed, the last of these and everyone's logins "from" it
    // would be refused with 429.
    const statuses: number[] = [];
    for (let i = 0; i < 101; i += 1) {
      const failed = await post(request, "login", { email: `nobody-${randomUUID()}@example.com`, password: "not the password" }, LOCKOUT_ADDRESS);
      statuses.push(failed.status());
    }
    const victim = await post(request, "login", { email: account.email, password: account.password }, LOCKOUT_ADDRESS);
    expect({ not401: statuses.filter((status) => status !== 401), victim: victim.status() }).toEqual({ not401: [], victim: 200 });
  } finally {
    await request.dispose();
  }
});
