"use client";

import Link from "next/link";
import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { verifyEmail } from "@tessera/next/actions";
import { FormMessage } from "../../components/auth-form";

/**
 * One button that POSTs the link's token: mail scanners open links, so loading
 * the page must not spend it. The spent token's cookie is left to expire:
 * cleared now, the page would re-render as "link incomplete" instead of
 * showing the success message.
 */
export function VerifyEmailForm({ token }: { token: string }) {
  const [state, formAction, pending] = useActionState(verifyEmail, initialAuthFormState);
  if (state.status === "success") {
    return (
      <>
        <FormMessage status={state.status} message={state.message} />
        <p>
          <Link href="/account">Go to your account</Link>
        </p>
      </>
    );
  }
  return (
    <form action={formAction}>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="token" value={token} />
      <button type="submit" disabled={pending}>
        Verify email
      </button>
    </form>
  );
}
