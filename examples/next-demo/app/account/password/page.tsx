import { tessera } from "@/lib/auth";
import { PasswordForm } from "./password-form";

export const metadata = { title: "Password · Tessera demo" };

/** Where sign-in comes back to, when the page is visited signed out and when the session ends before the form is sent. */
const HERE = "/account/password";

export default async function PasswordPage() {
  await tessera.requireUser(HERE);
  return (
    <section className="card">
      <h1>Change password</h1>
      <p className="muted">Changing your password signs out every other device.</p>
      <PasswordForm next={HERE} />
    </section>
  );
}
