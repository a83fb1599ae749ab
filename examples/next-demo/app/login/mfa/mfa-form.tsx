"use client";

import Link from "next/link";
import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { verifyMfaAction } from "@/app/actions";
import { Field, FormMessage } from "@/app/components/field";

/** One field, `code` or `recovery_code`; success is a redirect to `next`. */
export function MfaForm({ recovery, next, signIn }: { recovery: boolean; next: string; signIn: string }) {
  const [state, formAction, pending] = useActionState(verifyMfaAction, initialAuthFormState);
  return (
    <form action={formAction} noValidate data-testid="mfa-form">
      <FormMessage status={state.status} message={state.message} />
      {state.code === "mfa_challenge_invalid" ? (
        <p>
          <Link href={signIn}>Sign in again</Link>
        </p>
      ) : null}
      <input type="hidden" name="next" value={next} />
      {recovery ? (
        <Field name="recovery_code" label="Recovery code" type="text" autoComplete="off" autoCapitalize="none" spellCheck={false} required error={state.fieldErrors?.recovery_code} />
      ) : (
        <Field name="code" label="Code" type="text" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={8} required autoFocus error={state.fieldErrors?.code} />
      )}
      <button type="submit" disabled={pending}>
        {pending ? "Verifying…" : "Verify"}
      </button>
    </form>
  );
}
