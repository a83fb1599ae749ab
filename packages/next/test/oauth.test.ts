import { afterEach, describe, expect, it, vi } from "vitest";
import { defineAuthPaths } from "../src/paths.js";
import { OAUTH_ERROR_MESSAGES, OAUTH_GENERIC_ERROR_MESSAGE, oauthErrorMessage, oauthStartHref } from "../src/oauth.js";
import { getOAuthProviders, oauthProviderLabel } from "../src/server/oauth.js";

describe("oauthStartHref", () => {
  it("points at the route handler's start endpoint, with return_to encoded", () => {
    expect(oauthStartHref("github")).toBe("/api/auth/oauth/github/start");
    expect(oauthStartHref("acme", "/dashboard")).toBe("/api/auth/oauth/acme/start?return_to=%2Fdashboard");
    expect(oauthStartHref("acme", "/account?tab=a&b=c#x")).toBe("/api/auth/oauth/acme/start?return_to=%2Faccount%3Ftab%3Da%26b%3Dc%23x");
    expect(oauthStartHref("my_idp-2", "/")).toBe("/api/auth/oauth/my_idp-2/start?return_to=%2F");
  });

  it("honours a custom base path", () => {
    expect(oauthStartHref("acme", "/x", { paths: { basePath: "/auth" } })).toBe("/auth/oauth/acme/start?return_to=%2Fx");
    expect(oauthStartHref("acme", undefined, { paths: { basePath: "/auth/" } })).toBe("/auth/oauth/acme/start");
  });

  it("takes the base path from the app's one defineAuthPaths", () => {
    const paths = defineAuthPaths({ basePath: "/bff/auth/", signInPath: "/sign-in" });
    expect(oauthStartHref("acme", "/x", { paths })).toBe("/bff/auth/oauth/acme/start?return_to=%2Fx");
  });

  it.each(["//evil.example/steal", "/.//evil.example", "https://evil.example/", "/\\evil.example", "/%2F%2Fevil.example", "/\t/evil.example", "javascript:alert(1)"])(
    "turns an unsafe return_to (%j) into /",
    (returnTo) => {
      expect(oauthStartHref("acme", returnTo)).toBe("/api/auth/oauth/acme/start?return_to=%2F");
    },
  );

  it.each(["", "GitHub", "-acme", "a/b", "../session", "acme?x=1", "a".repeat(65), "acme "])("refuses the provider name %j", (name) => {
    expect(() => oauthStartHref(name, "/")).toThrow(expect.objectContaining({ code: "config_invalid" }));
  });
});

describe("oauthErrorMessage", () => {
  it.each(Object.keys(OAUTH_ERROR_MESSAGES))("has a sentence for %s", (code) => {
    const message = oauthErrorMessage(code);
    expect(message).not.toBe(OAUTH_GENERIC_ERROR_MESSAGE);
    expect(message).toMatch(/^[A-Z].*\.$/);
    expect(message).not.toContain(code);
  });

  it("says what to do about an existing account and a slow or foreign sign-in", () => {
    expect(oauthErrorMessage("account_exists")).toBe(
      "An account with this email already exists. Sign in with your password, then link this provider from your account page.",
    );
    expect(oauthErrorMessage("oauth_state_mismatch")).toMatch(/took too long or was started in another browser/);
    expect(oauthErrorMessage("last_sign_in_method")).toMatch(/only way you can sign in/);
  });

  it.each([
    "<script>alert(1)</script>",
    "unknown_thing",
    "constructor",
    "__proto__",
    "toString",
    "hasOwnProperty",
    "",
    undefined,
    null,
    42,
    ["account_exists"],
  ])("answers the generic sentence for %j, never echoing it", (code) => {
    const message = oauthErrorMessage(code);
    expect(message).toBe(OAUTH_GENERIC_ERROR_MESSAGE);
    expect(typeof message).toBe("string");
  });
});

describe("getOAuthProviders", () => {
  it("is empty when none are configured", () => {
    expect(getOAuthProviders({})).toEqual([]);
    expect(getOAuthProviders({ TESSERA_OAUTH_PROVIDERS: " , " })).toEqual([]);
  });

  it("keeps the configured order, trims, drops duplicates, and labels them", () => {
    expect(getOAuthProviders({ TESSERA_OAUTH_PROVIDERS: " github, acme ,github,,my-idp" })).toEqual([
      { name: "github", label: "GitHub" },
      { name: "acme", label: "Acme" },
      { name: "my-idp", label: "My-idp" },
    ]);
  });

  it("reads TESSERA_OAUTH_<NAME>_LABEL, with - written as _", () => {
    const env = {
      TESSERA_OAUTH_PROVIDERS: "github,demo,my-idp",
      TESSERA_OAUTH_GITHUB_LABEL: "GitHub Enterprise",
      TESSERA_OAUTH_DEMO_LABEL: "  Demo OIDC (local test provider) ",
      TESSERA_OAUTH_MY_IDP_LABEL: "Corporate SSO",
    };
    expect(getOAuthProviders(env)).toEqual([
      { name: "github", label: "GitHub Enterprise" },
      { name: "demo", label: "Demo OIDC (local test provider)" },
      { name: "my-idp", label: "Corporate SSO" },
    ]);
    expect(oauthProviderLabel("demo", { TESSERA_OAUTH_DEMO_LABEL: "   " })).toBe("Demo");
  });

  it.each(["GitHub", "acme corp", "-acme", "a/b", "a".repeat(65)])("refuses %j with config_invalid", (name) => {
    expect(() => getOAuthProviders({ TESSERA_OAUTH_PROVIDERS: `github,${name}` })).toThrow(expect.objectContaining({ code: "config_invalid" }));
  });

  afterEach(() => vi.unstubAllEnvs());

  it("reads process.env at call time by default", () => {
    vi.stubEnv("TESSERA_OAUTH_PROVIDERS", "acme");
    vi.stubEnv("TESSERA_OAUTH_ACME_LABEL", "Acme SSO");
    expect(getOAuthProviders()).toEqual([{ name: "acme", label: "Acme SSO" }]);
    vi.stubEnv("TESSERA_OAUTH_PROVIDERS", "");
    expect(getOAuthProviders()).toEqual([]);
  });
});
