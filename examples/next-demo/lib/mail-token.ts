/**
 * The `?token=` of a mailed link, or undefined when there is none that
 * tessera could have made (it mails 256-bit tokens, base64url). Checked
 * before it goes into a form so a mangled link shows "ask for a new one"
 * instead of a button that can only fail.
 */
export function mailToken(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" && /^[A-Za-z0-9_-]{16,256}$/.test(value) ? value : undefined;
}
