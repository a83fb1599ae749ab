"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { requestPasswordReset } from "@tessera/next/actions";
import { Field, FormMessage } from "../../components/auth-form";

/** The answer reads the same whether or not the address has an account, so the form tells nobody which ones do. */
export function ForgotPasswordForm() {
  const [state, formAction, pending] = useActionState(requestPasswordReset, initialAuthFormState);
  return (
    <form action={formAction} noValidate>
      <FormMessage status={state.status} message={state.message} />
      <Field name="email" label="Email" type="email" autoComplete="username" required defaultValue={state.values?.email} error={state.fieldErrors?.email} />
      <button type="submit" disabled={pending}>
        Send reset link
      </button>
    </form>
  );
}
