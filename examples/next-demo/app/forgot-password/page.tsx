import Link from "next/link";
import { authPaths } from "@/lib/auth-paths";
import { ForgotPasswordForm } from "./forgot-password-form";

export const metadata = { title: "Forgot password · Tessera demo" };

export default function ForgotPasswordPage() {
  return (
    <section className="card">
      <h1>Forgot password</h1>
      <p className="muted">Enter your account&apos;s email address and we will send you a link to choose a new password.</p>
      <ForgotPasswordForm />
      <p className="muted">
        Remembered it? <Link href={authPaths.signInPath}>Sign in</Link>.
      </p>
    </section>
  );
}
