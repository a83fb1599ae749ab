import type { Metadata } from "next";
import { InvalidLink } from "@/app/components/invalid-link";
import { mailToken } from "@/lib/mail-token";
import { ResetPasswordForm } from "./reset-password-form";

// The header from next.config.ts is what counts; the meta tag covers a
// deployment that drops it.
export const metadata: Metadata = { title: "Choose a new password · Tessera demo", referrer: "no-referrer" };

/** Opened from the reset mail. Loading it does nothing: the token is spent only by the form's POST. */
export default async function ResetPasswordPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const token = mailToken((await searchParams).token);
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
