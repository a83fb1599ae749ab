import Link from "next/link";
import { readMailToken } from "../../lib/mail-token-cookie";
import { ResetPasswordForm } from "./reset-password-form";

export const metadata = { title: "Choose a new password" };

/** Opened from the reset mail (proxy.ts moved its token into a cookie). Loading it does nothing: only the form's POST spends the token. */
export default async function ResetPasswordPage() {
  const token = await readMailToken();
  return (
    <main className="auth-page">
      <h1>Choose a new password</h1>
      {token ? (
        <>
          <p>Every device signed in to your account will be signed out; this one will be signed in.</p>
          <ResetPasswordForm token={token} />
        </>
      ) : (
        <p role="alert">
          This link is incomplete or was already used. Open it again from the email, or <Link href="/forgot-password">ask for a new one</Link>.
        </p>
      )}
    </main>
  );
}
