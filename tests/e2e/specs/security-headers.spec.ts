import { expect, test } from "@playwright/test";
import nextConfig, { HSTS } from "../../../examples/next-demo/next.config.js";

/** The demo's headers for every path, as `next build` computes them with APP_ORIGIN = `origin`. */
async function pageHeaders(origin: string | undefined): Promise<Record<string, string>> {
  const saved = process.env.APP_ORIGIN;
  if (origin === undefined) delete process.env.APP_ORIGIN;
  else process.env.APP_ORIGIN = origin;
  try {
    const rules = (await nextConfig.headers?.()) ?? [];
    const all = rules.find((rule) => rule.source === "/:path*");
    return Object.fromEntries((all?.headers ?? []).map((header) => [header.key.toLowerCase(), header.value]));
  } finally {
    if (saved === undefined) delete process.env.APP_ORIGIN;
    else process.env.APP_ORIGIN = saved;
  }
}

test("HSTS is sent when the app's origin is https", async () => {
  const headers = await pageHeaders("https://app.example.com");
  expect(headers["strict-transport-security"]).toBe("max-age=63072000; includeSubDomains");
  expect(HSTS.value).toBe("max-age=63072000; includeSubDomains");
});

test("HSTS stays off for http://localhost, an unset or a malformed origin", async () => {
  for (const origin of ["http://localhost:3000", "http://app.example.com", undefined, "", "not a url"]) {
    const headers = await pageHeaders(origin);
    expect(headers["strict-transport-security"], String(origin)).toBeUndefined();
    expect(headers["x-content-type-options"]).toBe("nosniff");
  }
});
