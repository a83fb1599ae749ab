"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { resendVerificationAction, signInAction } from "@/app/actions";
import { Field, FormMessage } from "@/app/components/field";

export function LoginForm({ next }: { next: string }) {
  const [state, formAction, pending] = useActionState(signInAction, initialAuthFormState);
  return (
    <>
      <form action={formAction} noValidate>
        <FormMessage status={state.status} message={state.message} />
        <input type="hidden" name="next" value={next} />
        <Field name="email" label="Email" type="email" autoComplete="username" required defaultValue={state.values?.email} error={state.fieldErrors?.email} />
        <Field name="password" label="Password" type="password" autoComplete="current-password" required error={state.fieldErrors?.password} />
        <button type="submit" disabled={pending}>
          {pending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {state.code === "email_not_verified" && state.values?.email ? <ResendVerification email={state.values.email} /> : null}
    </>
  );
}

/** Offered when tessera refused the sign-in until the address is verified (TESSERA_EMAIL_VERIFICATION=required). */
function ResendVerification({ email }: { email: string }) {
  const [state, formAction, pending] = useActionState(resendVerificationAction, initialAuthFormState);
  return (
    <form action={formAction} className="panel" data-testid="resend-verification">
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="email" value={email} />
      <button type="submit" className="secondary" disabled={pending}>
        {pending ? "Sending…" : "Send a new verification link"}
      </button>
    </form>
  );
}
