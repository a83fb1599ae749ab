import Link from "next/link";
import { redirect } from "next/navigation";
import { sanitizeRedirect } from "@tessera/next";
import { tessera } from "../../lib/auth";
import { SignUpForm } from "./sign-up-form";

export const metadata = { title: "Sign up" };

// This page reads the request (cookies). With cacheComponents (on in apps from
// create-next-app 16.4), such a page must either stream behind <Suspense> or
// say that it blocks: it blocks, so the whole page arrives in one response and
// its form works without JavaScript (a streamed part needs a script to show).
// Next refuses this line without cacheComponents: init writes it only when
// next.config turns cacheComponents on.
export const instant = false;

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
