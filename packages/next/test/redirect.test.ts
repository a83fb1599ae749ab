import { describe, expect, it } from "vitest";
import { sanitizeRedirect, signInUrl } from "../src/redirect.js";

describe("sanitizeRedirect", () => {
  it.each([
    ["/dashboard", "/dashboard"],
    ["/account/sessions?tab=1#top", "/account/sessions?tab=1#top"],
    ["/a/../b", "/b"],
    ["/%2e/dashboard", "/dashboard"],
    ["/search?q=//evil.example", "/search?q=//evil.example"],
    ["/a?next=%2F%2Fevil.example", "/a?next=%2F%2Fevil.example"],
    ["/a#//evil.example", "/a#//evil.example"],
    ["/javascript:alert(1)", "/javascript:alert(1)"],
  ])("keeps the same-origin path %s", (input, expected) => {
    expect(sanitizeRedirect(input)).toBe(expected);
  });

  it.each([
    // Absolute URLs and schemes.
    "https://evil.example/",
    "HTTPS://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    // Network paths, raw.
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/a\\evil.example",
    // Network paths only after dot-segment normalisation.
    "/.//evil.example/steal",
    "/%2e//evil.example",
    "/%2E//evil.example",
    "/a/..//evil.example",
    "/a/%2e%2e//evil.example",
    "/..//evil.example",
    "/././/evil.example",
    // Encoded separators: one more decode away from //host or /\host.
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/.%2F%2Fevil.example",
    // Browsers drop tab, CR and LF: "/\t/evil" is "//evil" to them.
    "/\tevil",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/.\t//evil.example",
    "/\u0000/evil.example",
    "/\u007f/evil.example",
    "/\u0085/evil.example",
    // Not a path at all.
    "dashboard",
    "evil.example",
    "",
    " /dashboard",
    " //evil.example",
    "/" + "a".repeat(3000),
  ])("refuses %j", (input) => {
    expect(sanitizeRedirect(input, "/fallback")).toBe("/fallback");
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
    expect(signInUrl("/login", "/.//evil.example")).toBe("/login");
  });
});
