import { NextRequest } from "next/server";
import { describe, expect, it } from "vitest";
import { defineAuthPaths } from "../src/paths.js";
import { authRedirect, createAuthProxy, matchesPath } from "../src/proxy/index.js";

const options = { protectedPaths: ["/dashboard", "/account", /^\/admin(\/|$)/], paths: defineAuthPaths({ signInPath: "/login" }) };

function request(path: string, headers: Record<string, string> = {}) {
  return new NextRequest(`http://localhost:3000${path}`, { headers });
}

describe("auth proxy", () => {
  it("redirects a signed-out visitor of a protected path to sign-in with next", () => {
    const response = authRedirect(request("/account/sessions?tab=2"), options);
    expect(response?.status).toBe(307);
    expect(response?.headers.get("location")).toBe("http://localhost:3000/login?next=%2Faccount%2Fsessions%3Ftab%3D2");
  });

  it("lets a visitor with a session cookie through (presence only)", () => {
    expect(authRedirect(request("/dashboard", { cookie: "__Host-tessera_session=x" }), options)).toBeNull();
  });

  it("leaves public paths alone", () => {
    expect(authRedirect(request("/"), options)).toBeNull();
    expect(authRedirect(request("/login"), options)).toBeNull();
    expect(authRedirect(request("/dashboards"), options)).toBeNull();
  });

  it("never trusts x-middleware-subrequest or other internal headers", async () => {
    const proxy = createAuthProxy(options);
    const forged = request("/admin/users", {
      "x-middleware-subrequest": "proxy:proxy:proxy:proxy:proxy",
      "x-middleware-prefetch": "1",
      cookie: "tessera_session=x; __Host-tessera_csrf=y",
    });
    const response = await proxy(forged);
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("http://localhost:3000/login?next=%2Fadmin%2Fusers");
  });

  it.each(["/.//evil.example/steal", "/%2e//evil.example", "/a/..//evil.example", "//evil.example", "/%5Cevil.example"])(
    "never puts an off-site path into next (%s)",
    (path) => {
      const response = authRedirect(request(path), { protectedPaths: ["/"], paths: { signInPath: "/login" } });
      const location = new URL(response?.headers.get("location") ?? "", "http://localhost:3000");
      expect(location.origin).toBe("http://localhost:3000");
      expect(location.pathname).toBe("/login");
      const next = location.searchParams.get("next");
      if (next !== null) expect(new URL(next, "http://localhost:3000").origin).toBe("http://localhost:3000");
      expect(next ?? "").not.toMatch(/^\/[\/\\]|%2f|%5c/i);
    },
  );

  it("sends to the sign-in page of the app's one defineAuthPaths, by default /login", async () => {
    const paths = defineAuthPaths({ basePath: "/bff", signInPath: "/sign-in/" });
    const response = await createAuthProxy({ protectedPaths: ["/account"], paths })(request("/account"));
    expect(response.headers.get("location")).toBe("http://localhost:3000/sign-in?next=%2Faccount");
    expect(authRedirect(request("/account"), { protectedPaths: ["/account"] })?.headers.get("location")).toBe("http://localhost:3000/login?next=%2Faccount");
  });

  it("refuses a sign-in path that is not a path when it is created", () => {
    expect(() => createAuthProxy({ protectedPaths: ["/account"], paths: { signInPath: "login" } })).toThrow(expect.objectContaining({ code: "config_invalid" }));
  });

  it("matches prefixes on segment boundaries", () => {
    expect(matchesPath("/account", "/account")).toBe(true);
    expect(matchesPath("/account/x", "/account/")).toBe(true);
    expect(matchesPath("/accounting", "/account")).toBe(false);
  });
});
