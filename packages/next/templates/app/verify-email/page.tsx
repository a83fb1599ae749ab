import { readMailToken } from "../../lib/mail-token-cookie";
import { VerifyEmailForm } from "./verify-email-form";

export const metadata = { title: "Verify your email" };

/** Opened from the mail tessera sends on sign-up (proxy.ts moved its token into a cookie). Only the button spends the token. */
export default async function VerifyEmailPage() {
  const token = await readMailToken();
  return (
    <main className="auth-page">
      <h1>Verify your email</h1>
      {token ? <VerifyEmailForm token={token} /> : <p role="alert">This link is incomplete. Open it again from the email.</p>}
    </main>
  );
}
