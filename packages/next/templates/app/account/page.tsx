import { tessera } from "../../lib/auth";
import { signOut } from "@tessera/next/actions";

export const metadata = { title: "Account" };

// This page reads the request (cookies). With cacheComponents (on in apps from
// create-next-app 16.4), such a page must either stream behind <Suspense> or
// say that it blocks: it blocks, so the whole page arrives in one response and
// its form works without JavaScript (a streamed part needs a script to show).
// Next refuses this line without cacheComponents: init writes it only when
// next.config turns cacheComponents on.
export const instant = false;

/** Protected twice: the proxy sends visitors without a session cookie to sign in, and requireUser asks tessera. */
export default async function AccountPage() {
  const user = await tessera.requireUser("/account");
  return (
    <main className="auth-page">
      <h1>Account</h1>
      <p>
        Signed in as <strong data-testid="account-email">{user.email}</strong>
        {user.email_verified ? "" : " (not verified yet)"}
      </p>
      <form action={signOut}>
        <button type="submit">Sign out</button>
      </form>
    </main>
  );
}
