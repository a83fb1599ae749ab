"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { signUp } from "@tessera/next/actions";
import { Field, FormMessage } from "../../components/auth-form";

/** Who may sign up is tessera's setting (TESSERA_REGISTRATION), not this form's: its answer shows here. */
export function SignUpForm({ next }: { next: string }) {
  const [state, formAction, pending] = useActionState(signUp, initialAuthFormState);
  return (
    <form action={formAction} noValidate>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="next" value={next} />
      <Field name="email" label="Email" type="email" autoComplete="email" required defaultValue={state.values?.email} error={state.fieldErrors?.email} />
      <Field name="password" label="Password" type="password" autoComplete="new-password" required minLength={8} error={state.fieldErrors?.password} />
      <button type="submit" disabled={pending}>
        Sign up
      </button>
    </form>
  );
}
