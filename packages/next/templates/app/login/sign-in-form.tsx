"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { signIn } from "@tessera/next/actions";
import { Field, FormMessage } from "../../components/auth-form";

export function SignInForm({ next }: { next: string }) {
  const [state, formAction, pending] = useActionState(signIn, initialAuthFormState);
  return (
    <form action={formAction} noValidate>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="next" value={next} />
      <Field name="email" label="Email" type="email" autoComplete="username" required defaultValue={state.values?.email} error={state.fieldErrors?.email} />
      <Field name="password" label="Password" type="password" autoComplete="current-password" required error={state.fieldErrors?.password} />
      <button type="submit" disabled={pending}>
        Sign in
      </button>
    </form>
  );
}
