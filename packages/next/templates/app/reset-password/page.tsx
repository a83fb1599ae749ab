import Link from "next/link";
import { readMailToken } from "../../lib/mail-token-cookie";
import { ResetPasswordForm } from "./reset-password-form";

export const metadata = { title: "Choose a new password" };

// This page reads the request (cookies). With cacheComponents (on in apps from
// create-next-app 16.4), such a page must either stream behind <Suspense> or
// say that it blocks: it blocks, so the whole page arrives in one response and
// its form works without JavaScript (a streamed part needs a script to show).
// Next refuses this line without cacheComponents: init writes it only when
// next.config turns cacheComponents on.
export const instant = false;

/** Opened from the reset mail (the proxy moved its token into a cookie). Loading it does nothing: only the form's POST spends the token. */
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
