"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { resendVerificationAction } from "@/app/actions";
import { FormMessage } from "./field";

/**
 * Shown to a signed-in user whose address is not verified yet. The button
 * asks tessera for a new link to that address (POST /v1/email/verify/send:
 * no email field, so it is the signed-in user's own).
 */
export function VerifyBanner({ email }: { email: string }) {
  const [state, formAction, pending] = useActionState(resendVerificationAction, initialAuthFormState);
  return (
    <div className="banner" role="region" aria-label="Verify your email address" data-testid="verify-banner">
      <p>
        Please verify your email address, <strong>{email}</strong>: open the link we sent you.
      </p>
      <FormMessage status={state.status} message={state.message} />
      <form action={formAction}>
        <input type="hidden" name="next" value="/dashboard" />
        <button type="submit" className="secondary" disabled={pending}>
          {pending ? "Sending…" : "Send the link again"}
        </button>
      </form>
    </div>
  );
}
