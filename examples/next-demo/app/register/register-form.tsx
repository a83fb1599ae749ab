"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { signUpAction } from "@/app/actions";
import { Field, FormMessage } from "@/app/components/field";

export function RegisterForm({ next }: { next: string }) {
  const [state, formAction, pending] = useActionState(signUpAction, initialAuthFormState);
  return (
    <form action={formAction} noValidate>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="next" value={next} />
      <Field name="name" label="Name" type="text" autoComplete="name" defaultValue={state.values?.name} error={state.fieldErrors?.name} />
      <Field name="email" label="Email" type="email" autoComplete="email" required defaultValue={state.values?.email} error={state.fieldErrors?.email} />
      <Field name="password" label="Password" type="password" autoComplete="new-password" required minLength={8} error={state.fieldErrors?.password} />
      <button type="submit" disabled={pending}>
        {pending ? "Creating account…" : "Create account"}
      </button>
    </form>
  );
}
