import { Secret, TOTP } from "otpauth";

/**
 * RFC 6238 codes as an authenticator app makes them (the `otpauth`
 * package: SHA-1, 6 digits, 30 s), for the secret the demo shows. tessera
 * and the tests run on the same machine, so they share the clock.
 */
const PERIOD_MS = 30_000;

function totp(secret: string): TOTP {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 });
}

/** The 30-second step a time falls in (RFC 6238's T). */
export function stepAt(ms: number): number {
  return Math.floor(ms / PERIOD_MS);
}

export function codeAt(secret: string, ms: number): string {
  return totp(secret).generate({ timestamp: ms });
}

/** A 6-digit code that is none of the codes tessera accepts now (±1 step, and one more each side for a slow run). */
export function wrongCode(secret: string): string {
  const now = Date.now();
  const valid = new Set([-2, -1, 0, 1, 2].map((offset) => codeAt(secret, now + offset * PERIOD_MS)));
  for (let n = 0; ; n += 111_111) {
    const candidate = String(n % 1_000_000).padStart(6, "0");
    if (!valid.has(candidate)) return candidate;
  }
}

/**
 * The current code, from a step later than `after` (tessera refuses a step
 * used already) and with at least `marginMs` of its step left, so that it
 * is still the current one when the form reaches tessera. Waits for the
 * next step when needed: at most about 30 s plus the margin.
 */
export async function freshCode(secret: string, after: number, marginMs = 8_000): Promise<{ code: string; step: number }> {
  for (;;) {
    const now = Date.now();
    const step = stepAt(now);
    const left = (step + 1) * PERIOD_MS - now;
    if (step > after && left >= marginMs) return { code: codeAt(secret, now), step };
    await new Promise((resolve) => setTimeout(resolve, left + 50));
  }
}
