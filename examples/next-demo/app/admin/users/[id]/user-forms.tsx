"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { changeUserRolesAction, deleteUserAction, revokeUserSessionsAction, sendPasswordResetAction, setUserDisabledAction } from "@/app/actions";
import { ConfirmCheckbox, Field, FormMessage } from "@/app/components/field";

/**
 * The forms of one user's admin page. Each is a server action of the kit
 * (`tessera.admin.*`) through app/actions.ts, a plain form POST without
 * JavaScript; the page's data is refreshed after a change.
 */
interface UserProps {
  userId: string;
}

/** Where sign-in comes back to when the admin's session ended before a form was sent. */
function Here({ userId }: UserProps) {
  return (
    <>
      <input type="hidden" name="user_id" value={userId} />
      <input type="hidden" name="next" value={`/admin/users/${userId}`} />
    </>
  );
}

export function DisableForm({ userId, disabled }: UserProps & { disabled: boolean }) {
  const [state, formAction, pending] = useActionState(setUserDisabledAction, initialAuthFormState);
  return (
    <form action={formAction} className="panel" data-testid="admin-disable" aria-labelledby="admin-disable-heading">
      <h2 id="admin-disable-heading">Status</h2>
      <FormMessage status={state.status} message={state.message} />
      <p data-testid="admin-user-status">
        {disabled ? "Disabled: this user cannot sign in." : "Active: this user can sign in."}
      </p>
      <Here userId={userId} />
      <input type="hidden" name="disabled" value={disabled ? "false" : "true"} />
      <button type="submit" disabled={pending} className={disabled ? undefined : "secondary"}>
        {disabled ? "Enable user" : "Disable user"}
      </button>
      {disabled ? null : <p className="muted">Disabling ends every session of the user at once.</p>}
    </form>
  );
}

/** Add or remove one role at a time; the two kinds of form share one state, so the message stays when a role's row goes. */
export function RolesForm({ userId, roles }: UserProps & { roles: readonly string[] }) {
  const [state, formAction, pending] = useActionState(changeUserRolesAction, initialAuthFormState);
  return (
    <div className="panel" data-testid="admin-roles">
      <h2>Roles</h2>
      <FormMessage status={state.status} message={state.message} />
      {roles.length > 0 ? (
        <ul className="roles" aria-label="Roles">
          {roles.map((role) => (
            <li key={role}>
              <span className="badge" data-testid="admin-role">
                {role}
              </span>
              <form action={formAction}>
                <Here userId={userId} />
                <input type="hidden" name="remove" value={role} />
                <button type="submit" className="link-button" disabled={pending} aria-label={`Remove role ${role}`}>
                  remove
                </button>
              </form>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted" data-testid="admin-no-roles">
          No roles.
        </p>
      )}
      <form action={formAction} className="inline-form" noValidate>
        <Here userId={userId} />
        <Field id="admin-add-role" name="add" label="Role" type="text" autoComplete="off" defaultValue={state.values?.role} error={state.fieldErrors?.role} />
        <button type="submit" disabled={pending}>
          Add role
        </button>
      </form>
    </div>
  );
}

/** Also ends refresh tokens (apps, scripts), which the session list does not show: always offered. */
export function RevokeSessionsForm({ userId }: UserProps) {
  const [state, formAction, pending] = useActionState(revokeUserSessionsAction, initialAuthFormState);
  return (
    <form action={formAction} data-testid="admin-revoke-sessions">
      <FormMessage status={state.status} message={state.message} />
      <Here userId={userId} />
      <button type="submit" disabled={pending}>
        {pending ? "Signing out…" : "Sign out everywhere"}
      </button>
    </form>
  );
}

export function PasswordResetForm({ userId }: UserProps) {
  const [state, formAction, pending] = useActionState(sendPasswordResetAction, initialAuthFormState);
  return (
    <form action={formAction} className="panel" data-testid="admin-password-reset" aria-labelledby="admin-password-reset-heading">
      <h2 id="admin-password-reset-heading">Password</h2>
      <FormMessage status={state.status} message={state.message} />
      <p className="muted">Nobody but the user ever sees a password: send them a link to choose a new one.</p>
      <Here userId={userId} />
      <button type="submit" disabled={pending}>
        {pending ? "Sending…" : "Send a password reset link"}
      </button>
    </form>
  );
}

/** Irreversible, so it takes a ticked box; then back to the user list. */
export function DeleteUserForm({ userId, email }: UserProps & { email: string }) {
  const [state, formAction, pending] = useActionState(deleteUserAction, initialAuthFormState);
  return (
    <form action={formAction} className="panel danger" data-testid="admin-delete-user" aria-labelledby="admin-delete-heading" noValidate>
      <h2 id="admin-delete-heading">Delete user</h2>
      <p className="muted">This deletes {email}, their sign-in methods and every session at once. It cannot be undone.</p>
      <FormMessage status={state.status} message={state.message} />
      <Here userId={userId} />
      <input type="hidden" name="redirect_to" value="/admin" />
      <ConfirmCheckbox id="admin-delete-confirm" label="Yes, delete this user" error={state.fieldErrors?.confirm} />
      <button type="submit" disabled={pending}>
        {pending ? "Deleting…" : "Delete user"}
      </button>
    </form>
  );
}
