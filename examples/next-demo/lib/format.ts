/** A timestamp from tessera as the demo shows it, e.g. "4 Dec 2026, 22:50 UTC" (the same on server and client). */
export function formatUtc(iso: string): string {
  return new Date(iso).toLocaleString("en-GB", { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" }) + " UTC";
}
