import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { authFetch, readCsrfToken } from "../src/client/auth-fetch.js";
import { createSessionFetcher } from "../src/client/fetcher.js";
import { defineAuthPaths } from "../src/paths.js";

interface Sent {
  url: string;
  method: string;
  headers: Headers;
  credentials: RequestCredentials | undefined;
}

let sent: Sent[];
let answer: (url: string, index: number) => Response;

beforeEach(() => {
  sent = [];
  vi.stubGlobal("location", Object.assign(new URL("http://localhost:3000/account/sessions?x=1"), { assign: vi.fn() }));
  vi.stubGlobal("document", { cookie: "theme=dark; __Host-tessera_csrf=csrf%2Dtoken; other=1" });
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    sent.push({ url, method: init?.method ?? "GET", headers: new Headers(init?.headers), credentials: init?.credentials });
    return answer(url, sent.length - 1);
  });
  answer = () => Response.json({ ok: true });
});
afterEach(() => vi.unstubAllGlobals());

describe("authFetch", () => {
  it("reads the CSRF cookie", () => {
    expect(readCsrfToken()).toBe("csrf-token");
    expect(readCsrfToken("a=b")).toBeNull();
  });

  it("adds X-CSRF-Token on unsafe same-origin requests only", async () => {
    await authFetch("/api/auth/sessions/abc", { method: "DELETE" });
    await authFetch("/api/auth/sessions");
    await authFetch("https://other.example/api", { method: "POST" });
    expect(sent[0]?.headers.get("x-csrf-token")).toBe("csrf-token");
    expect(sent[0]?.credentials).toBe("same-origin");
    expect(sent[1]?.headers.get("x-csrf-token")).toBeNull();
    expect(sent[2]?.headers.get("x-csrf-token")).toBeNull();
  });
});

describe("createSessionFetcher", () => {
  it("returns JSON on success", async () => {
    expect(await createSessionFetcher()("/api/auth/sessions")).toEqual({ ok: true });
  });

  it("on 401 re-checks the session once and retries when it still exists", async () => {
    answer = (url, index) => (index === 0 ? new Response(null, { status: 401 }) : Response.json({ url }));
    expect(await createSessionFetcher()("/api/auth/sessions")).toEqual({ url: "/api/auth/sessions" });
    expect(sent.map((s) => s.url)).toEqual(["/api/auth/sessions", "/api/auth/session", "/api/auth/sessions"]);
  });

  it("on 401 with the session gone, sends the browser to sign-in with next", async () => {
    answer = () => new Response(null, { status: 401 });
    const navigate = vi.fn();
    await expect(createSessionFetcher({ navigate })("/api/auth/sessions")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(navigate).toHaveBeenCalledWith("/login?next=%2Faccount%2Fsessions%3Fx%3D1");
    expect(sent).toHaveLength(2);
  });

  it("asks the base path and sends to the sign-in page of the app's one defineAuthPaths", async () => {
    answer = () => new Response(null, { status: 401 });
    const navigate = vi.fn();
    const paths = defineAuthPaths({ basePath: "/bff/auth", signInPath: "/sign-in" });
    await expect(createSessionFetcher({ paths, navigate })("/bff/auth/sessions")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(sent.map((s) => s.url)).toEqual(["/bff/auth/sessions", "/bff/auth/session"]);
    expect(navigate).toHaveBeenCalledWith("/sign-in?next=%2Faccount%2Fsessions%3Fx%3D1");
  });

  it("raises other failures with the problem attached", async () => {
    answer = () => Response.json({ type: "about:blank", title: "Busy", status: 503, code: "unavailable" }, { status: 503 });
    await expect(createSessionFetcher()("/api/auth/sessions")).rejects.toMatchObject({ code: "request_failed", status: 503, problem: { code: "unavailable" } });
  });
});

describe("entry guards", () => {
  it("refuses to load @tessera/next/server outside a React server environment", async () => {
    await expect(import("../src/server/index.js")).rejects.toThrow(/Client Component|server/i);
  });
});
