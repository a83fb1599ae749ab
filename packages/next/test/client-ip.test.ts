import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { resetClientIpWarning } from "../src/server/client-ip-warning.js";
import { createAuthRouteHandler } from "../src/server/route-handler.js";
import { startUpstream } from "./upstream-server.js";

// Issue 18 item 2: a browser must never choose the client IP tessera sees.
// `next start` passes a client-sent X-Forwarded-For through unchanged, so
// every entry left of the ones the deployment's own proxies wrote is the
// client's.

const APP = "http://localhost:3000";
const SPOOFED = "203.0.113.99";

let upstream: Awaited<ReturnType<typeof startUpstream>>;

beforeAll(async () => {
  upstream = await startUpstream((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end("{}");
  });
});
afterAll(() => upstream.close());
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  resetClientIpWarning();
});

type Config = Partial<Parameters<typeof createAuthRouteHandler>[0]>;

/** The Tessera-Client-Ip a GET of the session with `headers` sends to tessera under `config`. */
async function sentClientIp(config: Config, headers: Record<string, string>): Promise<string | undefined> {
  const response = await createAuthRouteHandler({ serverUrl: upstream.url, bffKey: "the-bff-key", ...config }).GET(
    new Request(`${APP}/api/auth/session`, { headers }),
  );
  expect(response.status).toBe(200);
  const value = upstream.received.at(-1)?.headers["tessera-client-ip"];
  return Array.isArray(value) ? value.join(",") : value;
}

const BEHIND_ONE_PROXY: Config = { trustedIpHeader: "x-forwarded-for", trustedProxyCount: 1 };

describe("client IP: only from a header the deployment names, with its proxy count", () => {
  it("behind one appending proxy (count 1) a spoofed X-Forwarded-For gives the entry the proxy appended", async () => {
    // The browser claimed SPOOFED; the proxy appended the socket address it saw.
    expect(await sentClientIp(BEHIND_ONE_PROXY, { "x-forwarded-for": `${SPOOFED}, 198.51.100.23` })).toBe("198.51.100.23");
    expect(await sentClientIp(BEHIND_ONE_PROXY, { "x-forwarded-for": `10.0.0.1, ${SPOOFED},198.51.100.23` })).toBe("198.51.100.23");
    // CDN + proxy, each appending: the CDN's entry is the client it saw.
    const twoProxies: Config = { trustedIpHeader: "x-forwarded-for", trustedProxyCount: 2 };
    expect(await sentClientIp(twoProxies, { "x-forwarded-for": `${SPOOFED}, 198.51.100.23, 10.0.0.5` })).toBe("198.51.100.23");
    // A header the proxy overwrites with the socket address.
    expect(await sentClientIp({ trustedIpHeader: "X-Real-IP", trustedProxyCount: 1 }, { "x-real-ip": "2001:db8::7", "x-forwarded-for": SPOOFED })).toBe(
      "2001:db8::7",
    );
  });

  it("fewer entries than trustedProxyCount give no client IP, never the client-written first entry", async () => {
    const twoProxies: Config = { trustedIpHeader: "x-forwarded-for", trustedProxyCount: 2 };
    // Reached Next without passing both proxies: the one entry is nobody's word but the client's.
    expect(await sentClientIp(twoProxies, { "x-forwarded-for": SPOOFED })).toBeUndefined();
    expect(await sentClientIp({ trustedIpHeader: "x-forwarded-for", trustedProxyCount: 3 }, { "x-forwarded-for": `${SPOOFED}, 198.51.100.23` })).toBeUndefined();
    expect(await sentClientIp(twoProxies, { "x-forwarded-for": `,, ${SPOOFED} ,` })).toBeUndefined();
  });

  it("without trustedIpHeader no client IP is sent, even with an X-Forwarded-For present", async () => {
    expect(await sentClientIp({}, { "x-forwarded-for": `${SPOOFED}, 198.51.100.23` })).toBeUndefined();
    expect(await sentClientIp({}, { "x-forwarded-for": SPOOFED, "x-real-ip": SPOOFED })).toBeUndefined();
    // A count alone names no header: still none.
    expect(await sentClientIp({ trustedProxyCount: 1 }, { "x-forwarded-for": SPOOFED })).toBeUndefined();
    // An empty header name (TRUSTED_IP_HEADER= in the environment) is unset.
    expect(await sentClientIp({ trustedIpHeader: "", trustedProxyCount: 1 }, { "x-forwarded-for": SPOOFED })).toBeUndefined();
  });

  it("trustedIpHeader without trustedProxyCount is config_invalid, explaining what to set", async () => {
    const handler = createAuthRouteHandler({ serverUrl: upstream.url, bffKey: "the-bff-key", trustedIpHeader: "x-forwarded-for" });
    const before = upstream.received.length;
    const refusal = handler.GET(new Request(`${APP}/api/auth/session`, { headers: { "x-forwarded-for": SPOOFED } }));
    await expect(refusal).rejects.toMatchObject({ code: "config_invalid" });
    await expect(refusal).rejects.toThrow(/trustedProxyCount.*proxies/s);
    expect(upstream.received.length).toBe(before);
  });

  it("a trustedIpHeader that is not a header name is config_invalid", async () => {
    const handler = createAuthRouteHandler({ serverUrl: upstream.url, trustedIpHeader: "x forwarded for", trustedProxyCount: 1 });
    await expect(handler.GET(new Request(`${APP}/api/auth/session`))).rejects.toMatchObject({ code: "config_invalid" });
  });

  it("an entry that is not an IP address gives no client IP", async () => {
    for (const header of [
      "not-an-ip",
      `${SPOOFED}, unknown`,
      `${SPOOFED}, 198.51.100.23:443`,
      `${SPOOFED}, 1.2.3.4.5`,
      `${SPOOFED}, 999.1.1.1`,
      `${SPOOFED}, ::ffff:999.1.1.1`,
      `${SPOOFED}, 198.51.100.23 10.0.0.1`,
      `${SPOOFED}, <script>`,
    ]) {
      expect(await sentClientIp(BEHIND_ONE_PROXY, { "x-forwarded-for": header }), header).toBeUndefined();
    }
    // What is an address passes, an IPv4-mapped IPv6 one as plain IPv4.
    expect(await sentClientIp(BEHIND_ONE_PROXY, { "x-forwarded-for": `${SPOOFED}, 2001:db8::1` })).toBe("2001:db8::1");
    expect(await sentClientIp(BEHIND_ONE_PROXY, { "x-forwarded-for": `${SPOOFED}, ::ffff:198.51.100.23` })).toBe("198.51.100.23");
  });

  it("a browser-sent Tessera-Client-Ip is never forwarded", async () => {
    expect(await sentClientIp({}, { "tessera-client-ip": SPOOFED })).toBeUndefined();
    expect(await sentClientIp(BEHIND_ONE_PROXY, { "tessera-client-ip": SPOOFED })).toBeUndefined();
    expect(await sentClientIp(BEHIND_ONE_PROXY, { "tessera-client-ip": SPOOFED, "x-forwarded-for": `${SPOOFED}, 198.51.100.23` })).toBe("198.51.100.23");
  });

  it("warns once per process in production that no client IP is sent, saying what tessera then limits", async () => {
    vi.stubEnv("NODE_ENV", "production");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await sentClientIp({}, { "x-forwarded-for": SPOOFED });
    await sentClientIp({}, {});
    await sentClientIp({ trustedIpHeader: "x-forwarded-for", trustedProxyCount: 2 }, { "x-forwarded-for": SPOOFED });
    expect(warn).toHaveBeenCalledTimes(1);
    const text = String(warn.mock.calls[0]?.[0]);
    expect(text).toMatch(/trustedIpHeader is not configured/);
    expect(text).toMatch(/per account only/);
    expect(text).toMatch(/trustedProxyCount/);
  });

  it("names the header and count in the warning when the configured header gave no address", async () => {
    vi.stubEnv("NODE_ENV", "production");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await sentClientIp({ trustedIpHeader: "x-forwarded-for", trustedProxyCount: 2 }, { "x-forwarded-for": SPOOFED });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/"x-forwarded-for".*2/);
  });
});
