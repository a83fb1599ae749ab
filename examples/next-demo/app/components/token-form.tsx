"use client";

import Link from "next/link";
import { useActionState } from "react";
import { initialAuthFormState, type AuthFormState } from "@tessera/next";
import { FormMessage } from "./field";

type TokenAction = (previous: AuthFormState, formData: FormData) => Promise<AuthFormState>;

/**
 * One button that POSTs a mailed link's token. Opening the link only shows
 * this form: mail scanners open links, so a page load must never spend the
 * token. After success the button goes and `done` leads on.
 */
export function TokenForm({ action, token, label, done }: { action: TokenAction; token: string; label: string; done: { href: string; label: string } }) {
  const [state, formAction, pending] = useActionState(action, initialAuthFormState);
  if (state.status === "success") {
    return (
      <>
        <FormMessage status={state.status} message={state.message} />
        <p>
          <Link href={done.href}>{done.label}</Link>
        </p>
      </>
    );
  }
  return (
    <form action={formAction}>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="token" value={token} />
      <button type="submit" disabled={pending}>
        {pending ? "Please wait…" : label}
      </button>
    </form>
  );
}
