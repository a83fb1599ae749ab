import { tessera } from "@/lib/auth";
import { PasswordForm } from "./password-form";

export const metadata = { title: "Password · Tessera demo" };

export default async function PasswordPage() {
  await tessera.requireUser("/account/password");
  return (
    <section className="card">
      <h1>Change password</h1>
      <p className="muted">Changing your password signs out every other device.</p>
      <PasswordForm />
    </section>
  );
}
