import Link from "next/link";
import { redirect } from "next/navigation";
import { sanitizeRedirect } from "@tessera/next";
import { getOAuthProviders } from "@tessera/next/server";
import { tessera } from "@/lib/auth";
import { OAuthButtons } from "@/app/components/oauth-buttons";
import { OAuthError } from "@/app/components/oauth-error";
import { LoginForm } from "./login-form";
import { PasskeySignIn } from "./passkey-sign-in";

export const metadata = { title: "Sign in · Tessera demo" };

/** A code as tessera sends it (`?error=account_exists`); anything else is passed on as "unknown". */
function errorCode(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" && /^[a-z0-9_]{1,64}$/.test(value) ? value : "unknown";
}

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = sanitizeRedirect(params.next, "/dashboard");
  const error = errorCode(params.error);
  if (await tessera.getSession()) {
    // A failed "link a provider" flow lands here too (tessera's failure page
    // always points at /login?error=): show its reason on the account page.
    redirect(error ? `/account?error=${error}` : next);
  }
  return (
    <section className="card">
      <h1>Sign in</h1>
      <OAuthError code={error} />
      <LoginForm next={next} />
      <PasskeySignIn next={next} />
      <p className="muted">
        <Link href="/forgot-password">Forgot password?</Link>
      </p>
      <OAuthButtons providers={getOAuthProviders()} next={next} />
      <p className="muted">
        No account yet? <Link href={`/register?next=${encodeURIComponent(next)}`}>Create one</Link>.
      </p>
    </section>
  );
}
