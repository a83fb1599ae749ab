import { tessera } from "../../lib/auth";
import { signOutAction } from "../../lib/auth-actions";

export const metadata = { title: "Account" };

/** Protected twice: proxy.ts sends visitors without a session cookie to sign in, and requireUser asks tessera. */
export default async function AccountPage() {
  const user = await tessera.requireUser("/account");
  return (
    <main className="auth-page">
      <h1>Account</h1>
      <p>
        Signed in as <strong data-testid="account-email">{user.email}</strong>
        {user.email_verified ? "" : " (not verified yet)"}
      </p>
      <form action={signOutAction}>
        <button type="submit">Sign out</button>
      </form>
    </main>
  );
}
