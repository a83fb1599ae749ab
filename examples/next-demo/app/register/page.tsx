import Link from "next/link";
import { sanitizeRedirect } from "@tessera/next";
import { getOAuthProviders } from "@tessera/next/server";
import { OAuthButtons } from "@/app/components/oauth-buttons";
import { authPaths } from "@/lib/auth-paths";
import { RegisterForm } from "./register-form";

export const metadata = { title: "Create account · Tessera demo" };

export default async function RegisterPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const next = sanitizeRedirect((await searchParams).next, "/dashboard");
  return (
    <section className="card">
      <h1>Create account</h1>
      <RegisterForm next={next} />
      <OAuthButtons providers={getOAuthProviders()} next={next} />
      <p className="muted">
        Already registered? <Link href={authPaths.signInPath}>Sign in</Link>.
      </p>
    </section>
  );
}
