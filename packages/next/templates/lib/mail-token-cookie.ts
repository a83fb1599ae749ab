import "server-only";
import { cookies } from "next/headers";
import { MAIL_TOKEN_COOKIE, mailToken } from "./mail-token";

/** The token the proxy stored for this page (the cookie's Path is the page), if it looks like one. */
export async function readMailToken(): Promise<string | undefined> {
  return mailToken((await cookies()).get(MAIL_TOKEN_COOKIE)?.value);
}

/** Forgets the token the proxy stored for the page at `path` (the cookie's Path), once it is spent. */
export async function forgetMailToken(path: string): Promise<void> {
  (await cookies()).set({ name: MAIL_TOKEN_COOKIE, value: "", path, maxAge: 0, httpOnly: true, secure: true, sameSite: "lax" });
}
