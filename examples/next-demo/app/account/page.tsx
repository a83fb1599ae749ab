import Link from "next/link";
import { oauthStartHref } from "@tessera/next";
import { getOAuthProviders, oauthProviderLabel } from "@tessera/next/server";
import { tessera } from "@/lib/auth";
import { OAuthError } from "@/app/components/oauth-error";
import { authPaths } from "@/lib/auth-paths";
import { formatUtc } from "@/lib/format";
import { DeleteAccountForm, EmailForm, ProfileForm } from "./account-forms";
import { RecentActivity } from "./recent-activity";
import { SignInMethods, type LinkableProvider, type LinkedIdentity } from "./sign-in-methods";

export const metadata = { title: "Account · Tessera demo" };

const AMR_WORDS: Readonly<Record<string, string>> = {
  pwd: "a password",
  otp: "a one-time code",
  hwk: "a passkey",
  fed: "a sign-in provider",
};

/** RFC 8176 values in words: `["pwd", "otp", "mfa"]` → "a password and a one-time code". */
function describeAmr(amr: readonly string[]): string {
  const words = amr.filter((value) => value !== "mfa").map((value) => AMR_WORDS[value] ?? value);
  return words.length > 0 ? words.join(" and ") : "an unknown method";
}

export default async function AccountPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await tessera.requireUser("/account");
  // The same call requireUser made (one per request): how this session signed in.
  const amr = (await tessera.getSession())?.session.amr ?? [];
  const { error } = await searchParams;
  const [identities, activity] = await Promise.all([tessera.listIdentities(), tessera.getActivity()]);
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
      <p>
        This session signed in with <strong>{describeAmr(amr)}</strong> (amr: <code data-testid="session-amr">{amr.join(" ")}</code>).
      </p>
      <p className="muted">
        <Link href="/account/security">Security: authenticator app and passkeys</Link> · <Link href="/account/sessions">Signed-in devices</Link> ·{" "}
        <Link href="/account/password">Change password</Link>
        {/* A convenience only: the /admin pages check the role themselves (requireRole). */}
        {user.roles.includes("admin") ? (
          <>
            {" · "}
            <Link href="/admin">Admin</Link>
          </>
        ) : null}
      </p>
      <OAuthError code={error} />
      <ProfileForm name={user.name ?? ""} />
      <EmailForm />
      <SignInMethods linked={linked} available={available} />
      <RecentActivity events={activity} />
      <DeleteAccountForm />
    </section>
  );
}
