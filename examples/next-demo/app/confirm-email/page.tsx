import { confirmEmailChangeAction } from "@/app/actions";
import { InvalidLink } from "@/app/components/invalid-link";
import { TokenForm } from "@/app/components/token-form";
import { readMailToken } from "@/lib/mail-token-cookie";

export const metadata = { title: "Confirm your new email · Tessera demo" };

/** Opened from the mail sent to the new address (proxy.ts moved its token into a cookie). Loading it does nothing: the button's POST changes the address. */
export default async function ConfirmEmailPage() {
  const token = await readMailToken();
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
