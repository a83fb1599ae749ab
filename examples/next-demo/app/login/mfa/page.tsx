import Link from "next/link";
import { redirect } from "next/navigation";
import { sanitizeRedirect } from "@tessera/next";
import { tessera } from "@/lib/auth";
import { MfaForm } from "./mfa-form";

export const metadata = { title: "Two-step sign-in · Tessera demo" };

/**
 * The second step of a sign-in with an authenticator app: signIn (or
 * tessera's provider callback) sent the browser here with the challenge in
 * an HttpOnly cookie. The code form is the default; `?method=recovery`
 * shows the recovery-code form instead, a plain link, so both work without
 * JavaScript.
 */
export default async function MfaPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = sanitizeRedirect(params.next, "/dashboard");
  if (await tessera.getSession()) redirect(next);
  const recovery = params.method === "recovery";
  const here = (method?: string) => `/login/mfa?${new URLSearchParams({ ...(method ? { method } : {}), next }).toString()}`;
  const signIn = `/login?next=${encodeURIComponent(next)}`;
  return (
    <section className="card">
      <h1>Two-step sign-in</h1>
      {(await tessera.hasMfaChallenge()) ? (
        <>
          <p className="muted">
            {recovery
              ? "Enter one of the recovery codes you saved when you set up your authenticator app. Each code works once."
              : "Enter the 6-digit code from your authenticator app."}
          </p>
          <MfaForm key={recovery ? "recovery" : "code"} recovery={recovery} next={next} signIn={signIn} />
          <p className="muted">
            {recovery ? <Link href={here()}>Use a code from your app instead</Link> : <Link href={here("recovery")}>Use a recovery code instead</Link>}
          </p>
        </>
      ) : (
        <p role="alert" className="form-error">
          No sign-in is waiting for a code here, or it has expired. <Link href={signIn}>Sign in again</Link>.
        </p>
      )}
    </section>
  );
}
