"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { changeEmailAction, deleteAccountAction, updateProfileAction } from "@/app/actions";
import { ConfirmCheckbox, Field, FormMessage } from "@/app/components/field";

/** Where sign-in comes back to when the session ended before a form was sent. */
const HERE = "/account";

export function ProfileForm({ name }: { name: string }) {
  const [state, formAction, pending] = useActionState(updateProfileAction, initialAuthFormState);
  return (
    <form action={formAction} className="panel" data-testid="profile-form" noValidate>
      <h2>Name</h2>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="next" value={HERE} />
      <Field name="name" label="Name" type="text" autoComplete="name" defaultValue={state.values?.name ?? name} error={state.fieldErrors?.name} />
      <button type="submit" disabled={pending}>
        {pending ? "Saving…" : "Save name"}
      </button>
    </form>
  );
}

/** The address changes only when the link mailed to the new one is opened; the old one gets a notice. */
export function EmailForm() {
  const [state, formAction, pending] = useActionState(changeEmailAction, initialAuthFormState);
  return (
    <form action={formAction} className="panel" data-testid="email-form" noValidate>
      <h2>Email address</h2>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="next" value={HERE} />
      <Field name="new_email" label="New email" type="email" autoComplete="email" required defaultValue={state.values?.new_email} error={state.fieldErrors?.new_email} />
      <Field
        id="email-current-password"
        name="current_password"
        label="Current password"
        type="password"
        autoComplete="current-password"
        required
        error={state.fieldErrors?.current_password}
      />
      <button type="submit" disabled={pending}>
        {pending ? "Sending…" : "Change email"}
      </button>
    </form>
  );
}

/** Irreversible, so it takes the password (or, for a provider-only account, a fresh sign-in) and a ticked box. */
export function DeleteAccountForm() {
  const [state, formAction, pending] = useActionState(deleteAccountAction, initialAuthFormState);
  return (
    <form action={formAction} className="panel danger" data-testid="delete-account" noValidate>
      <h2>Delete account</h2>
      <p className="muted">This deletes your account, its sign-in methods and every session at once. It cannot be undone.</p>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="next" value={HERE} />
      <Field
        id="delete-current-password"
        name="current_password"
        label="Current password"
        type="password"
        autoComplete="current-password"
        error={state.fieldErrors?.current_password}
      />
      <p className="muted">Signed up with a provider and never set a password? Leave it empty; sign in again first if it was more than 5 minutes ago.</p>
      <ConfirmCheckbox id="delete-confirm" label="Yes, delete my account" error={state.fieldErrors?.confirm} />
      <button type="submit" disabled={pending}>
        {pending ? "Deleting…" : "Delete account"}
      </button>
    </form>
  );
}
