import Link from "next/link";
import { ForgotPasswordForm } from "./forgot-password-form";

export const metadata = { title: "Forgot password" };

export default function ForgotPasswordPage() {
  return (
    <main className="auth-page">
      <h1>Forgot password</h1>
      <p>Enter your account&apos;s email address and we will send you a link to choose a new password.</p>
      <ForgotPasswordForm />
      <p>
        Remembered it? <Link href="/login">Sign in</Link>
      </p>
    </main>
  );
}
