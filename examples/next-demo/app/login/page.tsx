import Link from "next/link";
import { redirect } from "next/navigation";
import { sanitizeRedirect } from "@tessera/next";
import { tessera } from "@/lib/auth";
import { LoginForm } from "./login-form";

export const metadata = { title: "Sign in · Tessera demo" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const next = sanitizeRedirect((await searchParams).next, "/dashboard");
  if (await tessera.getSession()) redirect(next);
  return (
    <section className="card">
      <h1>Sign in</h1>
      <LoginForm next={next} />
      <p className="muted">
        No account yet? <Link href={`/register?next=${encodeURIComponent(next)}`}>Create one</Link>.
      </p>
    </section>
  );
}
