"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { changePasswordAction } from "@/app/actions";
import { Field, FormMessage } from "@/app/components/field";

export function PasswordForm({ next }: { next: string }) {
  const [state, formAction, pending] = useActionState(changePasswordAction, initialAuthFormState);
  return (
    <form action={formAction} noValidate>
      <input type="hidden" name="next" value={next} />
      <FormMessage status={state.status} message={state.message} />
      <Field name="current_password" label="Current password" type="password" autoComplete="current-password" required error={state.fieldErrors?.current_password} />
      <Field name="new_password" label="New password" type="password" autoComplete="new-password" required minLength={8} error={state.fieldErrors?.new_password} />
      <button type="submit" disabled={pending}>
        {pending ? "Changing…" : "Change password"}
      </button>
    </form>
  );
}
