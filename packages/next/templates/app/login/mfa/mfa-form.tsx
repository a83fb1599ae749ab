"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { verifyMfa } from "@tessera/next/actions";
import { Field, FormMessage } from "../../../components/auth-form";

export function MfaForm({ recovery, next }: { recovery: boolean; next: string }) {
  const [state, formAction, pending] = useActionState(verifyMfa, initialAuthFormState);
  return (
    <form action={formAction} noValidate>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="next" value={next} />
      {recovery ? (
        <Field name="recovery_code" label="Recovery code" type="text" autoComplete="off" required error={state.fieldErrors?.recovery_code} />
      ) : (
        <Field name="code" label="Code" type="text" inputMode="numeric" autoComplete="one-time-code" required error={state.fieldErrors?.code} />
      )}
      <button type="submit" disabled={pending}>
        Verify
      </button>
    </form>
  );
}
