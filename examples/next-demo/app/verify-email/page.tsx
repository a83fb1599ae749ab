import { verifyEmailAction } from "@/app/actions";
import { InvalidLink } from "@/app/components/invalid-link";
import { TokenForm } from "@/app/components/token-form";
import { readMailToken } from "@/lib/mail-token-cookie";

export const metadata = { title: "Verify your email · Tessera demo" };

/** Opened from the verification mail (proxy.ts moved its token into a cookie). Loading it does nothing: the button's POST verifies. */
export default async function VerifyEmailPage() {
  const token = await readMailToken();
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
