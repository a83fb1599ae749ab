import type { Metadata } from "next";
import { verifyEmailAction } from "@/app/actions";
import { InvalidLink } from "@/app/components/invalid-link";
import { TokenForm } from "@/app/components/token-form";
import { mailToken } from "@/lib/mail-token";

export const metadata: Metadata = { title: "Verify your email · Tessera demo", referrer: "no-referrer" };

/** Opened from the verification mail. Loading it does nothing: the button's POST verifies. */
export default async function VerifyEmailPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const token = mailToken((await searchParams).token);
  return (
    <section className="card">
      <h1>Verify your email address</h1>
      {token ? (
        <TokenForm action={verifyEmailAction} token={token} label="Verify my email address" done={{ href: "/dashboard", label: "Continue" }} />
      ) : (
        <InvalidLink retry={{ href: "/account", label: "Ask for a new link on your account page" }} />
      )}
    </section>
  );
}
