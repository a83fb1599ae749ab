import { InvalidLink } from "@/app/components/invalid-link";
import { readMailToken } from "@/lib/mail-token-cookie";
import { ResetPasswordForm } from "./reset-password-form";

export const metadata = { title: "Choose a new password · Tessera demo" };

/** Opened from the reset mail (proxy.ts moved its token into a cookie). Loading it does nothing: the token is spent only by the form's POST. */
export default async function ResetPasswordPage() {
  const token = await readMailToken();
  return (
    <section className="card">
      <h1>Choose a new password</h1>
      {token ? (
        <>
          <p className="muted">Every device signed in to your account will be signed out; this one will be signed in.</p>
          <ResetPasswordForm token={token} />
        </>
      ) : (
        <InvalidLink retry={{ href: "/forgot-password", label: "Ask for a new reset link" }} />
      )}
    </section>
  );
}
