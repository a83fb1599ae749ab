import { describe, expect, it } from "vitest";
import { sanitizeRedirect, signInUrl } from "../src/redirect.js";

describe("sanitizeRedirect", () => {
  it.each([
    ["/dashboard", "/dashboard"],
    ["/account/sessions?tab=1#top", "/account/sessions?tab=1#top"],
    ["/a/../b", "/b"],
  ])("keeps the same-origin path %s", (input, expected) => {
    expect(sanitizeRedirect(input)).toBe(expected);
  });

  it.each([
    "https://evil.example/",
    "//evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "/%0d%0aSet-Cookie:x",
    "/\tevil",
    "/\n/evil.example",
    "dashboard",
    "",
    " /dashboard",
    "/" + "a".repeat(3000),
  ])("refuses %j", (input) => {
    expect(sanitizeRedirect(input, "/fallback")).not.toMatch(/evil|javascript/);
    if (!input.startsWith("/%0d")) expect(sanitizeRedirect(input, "/fallback")).toBe("/fallback");
  });

  it("keeps encoded CR/LF encoded, never decoded into the path", () => {
    expect(sanitizeRedirect("/%0d%0aSet-Cookie:x")).toBe("/%0d%0aSet-Cookie:x");
  });

  it("refuses non-strings", () => {
    expect(sanitizeRedirect(undefined)).toBe("/");
    expect(sanitizeRedirect(["/a"])).toBe("/");
  });
});

describe("signInUrl", () => {
  it("adds an encoded next", () => {
    expect(signInUrl("/login", "/account/sessions?x=1")).toBe("/login?next=%2Faccount%2Fsessions%3Fx%3D1");
  });
  it("drops an unsafe or trivial next", () => {
    expect(signInUrl("/login", "https://evil.example")).toBe("/login");
    expect(signInUrl("/login", "/")).toBe("/login");
  });
});
