import { describe, expect, it } from "vitest";
import { applySetCookies, type CookieWriter } from "../src/server/cookies.js";

describe("applySetCookies", () => {
  it("keeps every __Host- attribute the server set", () => {
    const written: Parameters<CookieWriter["set"]>[0][] = [];
    const applied = applySetCookies(
      [
        "__Host-tessera_session=tok_abc-123; Max-Age=7776000; Path=/; Secure; HttpOnly; SameSite=Strict",
        "__Host-tessera_csrf=csrf_XYZ; Max-Age=7776000; Path=/; Secure; SameSite=Strict",
      ],
      { set: (options) => written.push(options) },
    );
    expect(applied).toEqual(["__Host-tessera_session", "__Host-tessera_csrf"]);
    expect(written).toEqual([
      { name: "__Host-tessera_session", value: "tok_abc-123", path: "/", maxAge: 7776000, httpOnly: true, secure: true, sameSite: "strict" },
      { name: "__Host-tessera_csrf", value: "csrf_XYZ", path: "/", maxAge: 7776000, secure: true, sameSite: "strict" },
    ]);
  });

  it("applies clearing cookies (Max-Age=0)", () => {
    const written: Parameters<CookieWriter["set"]>[0][] = [];
    applySetCookies(["__Host-tessera_session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict"], {
      set: (options) => written.push(options),
    });
    expect(written[0]).toMatchObject({ name: "__Host-tessera_session", value: "", maxAge: 0 });
  });
});
