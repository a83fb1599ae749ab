import Link from "next/link";
import { tessera } from "@/lib/auth";
import { authPaths } from "@/lib/auth-paths";

export default async function Home() {
  const session = await tessera.getSession();
  return (
    <section>
      <h1>Tessera demo</h1>
      <p>
        Sessions live on a Rust server; this Next.js app is its backend-for-frontend. The browser only ever holds two
        <code>__Host-</code> cookies, both <code>SameSite=Strict</code>.
      </p>
      {session ? (
        <p>
          You are signed in as <strong>{session.user.email}</strong>. Go to your <Link href="/dashboard">dashboard</Link>.
        </p>
      ) : (
        <p>
          <Link href={authPaths.signInPath}>Sign in</Link> or <Link href="/register">create an account</Link>.
        </p>
      )}
    </section>
  );
}
