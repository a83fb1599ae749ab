"use client";

import { useState } from "react";
import { passkeyErrorMessage, signInWithPasskey } from "@tessera/next/client";
import { authPaths } from "@/lib/auth-paths";

/**
 * "Sign in with a passkey": the browser offers the passkeys it holds for
 * this site (discoverable credentials, no email asked). A passkey is a
 * second factor in itself, so no code is asked after it. Needs JavaScript
 * (the WebAuthn API); the password form above does not.
 */
export function PasskeySignIn({ next }: { next: string }) {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function signIn() {
    setError(null);
    setPending(true);
    try {
      await signInWithPasskey({ paths: authPaths });
      // A full navigation: the server renders the next page signed in.
      window.location.assign(next);
    } catch (caught) {
      setError(passkeyErrorMessage(caught));
      setPending(false);
    }
  }

  return (
    <div className="passkey-sign-in">
      <p className="divider">
        <span>or</span>
      </p>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="button" className="secondary wide" onClick={() => void signIn()} disabled={pending}>
        {pending ? "Waiting for your passkey…" : "Sign in with a passkey"}
      </button>
    </div>
  );
}
