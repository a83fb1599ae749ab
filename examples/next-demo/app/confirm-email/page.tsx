import type { Metadata } from "next";
import { confirmEmailChangeAction } from "@/app/actions";
import { InvalidLink } from "@/app/components/invalid-link";
import { TokenForm } from "@/app/components/token-form";
import { mailToken } from "@/lib/mail-token";

export const metadata: Metadata = { title: "Confirm your new email · Tessera demo", referrer: "no-referrer" };

/** Opened from the mail sent to the new address. Loading it does nothing: the button's POST changes the address. */
export default async function ConfirmEmailPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const token = mailToken((await searchParams).token);
  return (
    <section className="card">
      <h1>Confirm your new email address</h1>
      {token ? (
        <TokenForm action={confirmEmailChangeAction} token={token} label="Use this email address" done={{ href: "/account", label: "Back to your account" }} />
      ) : (
        <InvalidLink retry={{ href: "/account", label: "Start the change again on your account page" }} />
      )}
    </section>
  );
}
