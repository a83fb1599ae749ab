"use client";

import Link from "next/link";
import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { resetPasswordAction } from "../../lib/auth-actions";
import { Field, FormMessage } from "../../components/auth-form";

export function ResetPasswordForm({ token }: { token: string }) {
  const [state, formAction, pending] = useActionState(resetPasswordAction, initialAuthFormState);
  return (
    <form action={formAction} noValidate>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="token" value={token} />
      <Field name="new_password" label="New password" type="password" autoComplete="new-password" required minLength={8} error={state.fieldErrors?.new_password} />
      <button type="submit" disabled={pending}>
        Set new password
      </button>
      {state.code === "invalid_token" ? (
        <p>
          <Link href="/forgot-password">Ask for a new reset link</Link>
        </p>
      ) : null}
    </form>
  );
}
