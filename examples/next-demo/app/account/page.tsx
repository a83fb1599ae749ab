import Link from "next/link";
import { oauthStartHref } from "@tessera/next";
import { getOAuthProviders, oauthProviderLabel } from "@tessera/next/server";
import { tessera } from "@/lib/auth";
import { OAuthError } from "@/app/components/oauth-error";
import { authPaths } from "@/lib/auth-paths";
import { formatUtc } from "@/lib/format";
import { DeleteAccountForm, EmailForm, ProfileForm } from "./account-forms";
import { SignInMethods, type LinkableProvider, type LinkedIdentity } from "./sign-in-methods";

export const metadata = { title: "Account · Tessera demo" };

export default async function AccountPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await tessera.requireUser("/account");
  const { error } = await searchParams;
  const identities = await tessera.listIdentities();
  const linked: LinkedIdentity[] = identities.map((identity) => ({
    provider: identity.provider,
    label: oauthProviderLabel(identity.provider),
    email: identity.email,
    linked: formatUtc(identity.created_at),
  }));
  const available: LinkableProvider[] = getOAuthProviders()
    .filter((provider) => !identities.some((identity) => identity.provider === provider.name))
    .map((provider) => ({ name: provider.name, label: provider.label, href: oauthStartHref(provider.name, "/account", { paths: authPaths }) }));
  return (
    <section>
      <h1>Account</h1>
      <p>
        Signed in as <strong data-testid="account-email">{user.email}</strong>
        {user.email_verified ? "" : " (not verified yet)"}.
      </p>
      <p className="muted">
        <Link href="/account/sessions">Signed-in devices</Link> · <Link href="/account/password">Change password</Link>
      </p>
      <OAuthError code={error} />
      <ProfileForm name={user.name ?? ""} />
      <EmailForm />
      <SignInMethods linked={linked} available={available} />
      <DeleteAccountForm />
    </section>
  );
}
