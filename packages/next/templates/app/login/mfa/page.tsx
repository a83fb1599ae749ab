import Link from "next/link";
import { redirect } from "next/navigation";
import { sanitizeRedirect } from "@tessera/next";
import { tessera } from "../../../lib/auth";
import { MfaForm } from "./mfa-form";

export const metadata = { title: "Two-step sign-in" };

// This page reads the request (cookies). With cacheComponents (on in apps from
// create-next-app 16.4), such a page must either stream behind <Suspense> or
// say that it blocks: it blocks, so the whole page arrives in one response and
// its form works without JavaScript (a streamed part needs a script to show).
// Next refuses this line without cacheComponents: init writes it only when
// next.config turns cacheComponents on.
export const instant = false;

// The second step of a sign-in for an account with an authenticator app:
// signIn (or tessera's provider callback) sent the browser here, the
// challenge in an HttpOnly cookie. ?method=recovery asks for a recovery
// code instead: a plain link, so both work without JavaScript.
export default async function MfaPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = sanitizeRedirect(params.next, "/account");
  if (await tessera.getSession()) redirect(next);
  const recovery = params.method === "recovery";
  const query = (method?: string) => new URLSearchParams({ ...(method ? { method } : {}), next }).toString();
  if (!(await tessera.hasMfaChallenge())) {
    return (
      <main className="auth-page">
        <h1>Two-step sign-in</h1>
        <p role="alert">
          No sign-in is waiting for a code, or it has expired. <Link href={`/login?${query()}`}>Sign in again</Link>
        </p>
      </main>
    );
  }
  return (
    <main className="auth-page">
      <h1>Two-step sign-in</h1>
      <p>{recovery ? "Enter one of your recovery codes. Each works once." : "Enter the code from your authenticator app."}</p>
      <MfaForm key={recovery ? "recovery" : "code"} recovery={recovery} next={next} />
      <p>
        {recovery ? (
          <Link href={`/login/mfa?${query()}`}>Use a code from your app instead</Link>
        ) : (
          <Link href={`/login/mfa?${query("recovery")}`}>Use a recovery code instead</Link>
        )}
      </p>
    </main>
  );
}
