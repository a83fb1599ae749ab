import Link from "next/link";
import { redirect } from "next/navigation";
import { sanitizeRedirect } from "@tessera/next";
import { tessera } from "../../lib/auth";
import { SignUpForm } from "./sign-up-form";

export const metadata = { title: "Sign up" };

export default async function RegisterPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const next = sanitizeRedirect((await searchParams).next, "/account");
  if (await tessera.getSession()) redirect(next);
  return (
    <main className="auth-page">
      <h1>Sign up</h1>
      <SignUpForm next={next} />
      <p>
        Already have an account? <Link href={`/login?next=${encodeURIComponent(next)}`}>Sign in</Link>
      </p>
    </main>
  );
}
