import { readMailToken } from "../../lib/mail-token-cookie";
import { VerifyEmailForm } from "./verify-email-form";

export const metadata = { title: "Verify your email" };

// This page reads the request (cookies). With cacheComponents (on in apps from
// create-next-app 16.4), such a page must either stream behind <Suspense> or
// say that it blocks: it blocks, so the whole page arrives in one response and
// its form works without JavaScript (a streamed part needs a script to show).
// Next refuses this line without cacheComponents: init writes it only when
// next.config turns cacheComponents on.
export const instant = false;

/** Opened from the mail tessera sends on sign-up (the proxy moved its token into a cookie). Only the button spends the token. */
export default async function VerifyEmailPage() {
  const token = await readMailToken();
  return (
    <main className="auth-page">
      <h1>Verify your email</h1>
      {token ? <VerifyEmailForm token={token} /> : <p role="alert">This link is incomplete. Open it again from the email.</p>}
    </main>
  );
}
