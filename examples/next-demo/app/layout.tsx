import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { SessionProvider } from "@tessera/next/client";
import { tessera } from "@/lib/auth";
import { authPaths } from "@/lib/auth-paths";
import { SignOutButton } from "./components/sign-out-button";
import { VerifyBanner } from "./components/verify-banner";
import "./globals.css";

export const metadata: Metadata = {
  title: "Tessera demo",
  description: "Session authentication for Next.js with a Rust server",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const session = await tessera.getSession();
  return (
    <html lang="en">
      <body>
        <SessionProvider initialSession={session} paths={authPaths}>
          <header className="site-header">
            <Link href="/" className="brand">
              Tessera
            </Link>
            <nav aria-label="Main">
              {session ? (
                <>
                  <Link href="/dashboard">Dashboard</Link>
                  <Link href="/account">Account</Link>
                  <Link href="/account/security">Security</Link>
                  <Link href="/account/sessions">Devices</Link>
                  <Link href="/account/password">Password</Link>
                  <SignOutButton />
                </>
              ) : (
                <>
                  <Link href={authPaths.signInPath}>Sign in</Link>
                  <Link href="/register">Create account</Link>
                </>
              )}
            </nav>
          </header>
          <main>
            {session && !session.user.email_verified ? <VerifyBanner email={session.user.email} /> : null}
            {children}
          </main>
        </SessionProvider>
      </body>
    </html>
  );
}
