"use client";

import { useRouter } from "next/navigation";
import { useActionState, useState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { passkeyErrorMessage, registerPasskey } from "@tessera/next/client";
import { deletePasskeyAction, renamePasskeyAction } from "@/app/actions";
import { Field, FormMessage } from "@/app/components/field";
import { TableHead } from "@/app/components/table-head";
import { authPaths } from "@/lib/auth-paths";

export interface PasskeyRow {
  id: string;
  name: string;
  /** Already formatted. */
  created: string;
  lastUsed: string | null;
  /** Synced to other devices by the platform (WebAuthn backup state). */
  synced: boolean;
}

/**
 * The user's passkeys: add one (the browser's WebAuthn prompt, so this
 * needs JavaScript), rename or delete each (server actions, plain form
 * POSTs without it).
 */
export function PasskeysSection({ passkeys }: { passkeys: readonly PasskeyRow[] }) {
  const router = useRouter();
  const [rename, renameAction, renaming] = useActionState(renamePasskeyAction, initialAuthFormState);
  const [remove, removeAction, removing] = useActionState(deletePasskeyAction, initialAuthFormState);
  const [added, setAdded] = useState<{ status: "success" | "error"; message: string } | null>(null);
  const [adding, setAdding] = useState(false);
  const [last, setLast] = useState<"add" | "rename" | "delete" | null>(null);

  async function add(formData: FormData) {
    setLast("add");
    setAdded(null);
    setAdding(true);
    try {
      const name = formData.get("name");
      const passkey = await registerPasskey(typeof name === "string" ? name : undefined, { paths: authPaths });
      setAdded({ status: "success", message: `Passkey “${passkey.name}” added. You can now sign in with it.` });
      router.refresh();
    } catch (error) {
      setAdded({ status: "error", message: passkeyErrorMessage(error) });
    } finally {
      setAdding(false);
    }
  }

  const answered = last ?? (remove.status !== "idle" ? "delete" : rename.status !== "idle" ? "rename" : null);
  const shown = answered === "add" ? added : answered === "rename" ? rename : answered === "delete" ? remove : null;

  return (
    <div className="panel" data-testid="passkeys-section">
      <h2 id="passkeys-heading">Passkeys</h2>
      <p className="muted">A passkey signs you in with your device's screen lock or a security key, without a password or a code.</p>
      {shown ? <FormMessage status={shown.status} message={shown.message ?? ("fieldErrors" in shown ? shown.fieldErrors?.name : undefined)} /> : null}
      {passkeys.length > 0 ? (
        <table className="sessions" aria-labelledby="passkeys-heading">
          <TableHead columns={["Name", "Added", "Last used"]} />
          <tbody>
            {passkeys.map((passkey) => (
              <tr key={passkey.id} data-testid="passkey-row">
                <td>
                  <form action={renameAction} onSubmit={() => setLast("rename")} className="inline-form" noValidate>
                    <input type="hidden" name="id" value={passkey.id} />
                    <input type="hidden" name="next" value="/account/security" />
                    <Field id={`passkey-name-${passkey.id}`} name="name" label={`Name of passkey ${passkey.name}`} defaultValue={passkey.name} maxLength={64} />
                    <button type="submit" className="secondary" disabled={renaming}>
                      Rename
                    </button>
                  </form>
                  {passkey.synced ? <span className="badge">Synced</span> : null}
                </td>
                <td>{passkey.created}</td>
                <td>{passkey.lastUsed ?? "Never"}</td>
                <td>
                  <form action={removeAction} onSubmit={() => setLast("delete")}>
                    <input type="hidden" name="id" value={passkey.id} />
                    <input type="hidden" name="next" value="/account/security" />
                    <button type="submit" className="secondary" disabled={removing} aria-label={`Delete passkey ${passkey.name}`}>
                      Delete
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted" data-testid="no-passkeys">
          You have no passkeys yet.
        </p>
      )}
      <form action={add} noValidate aria-label="Add a passkey">
        <Field id="new-passkey-name" name="name" label="Passkey name (optional)" type="text" maxLength={64} placeholder="e.g. Work laptop" />
        <button type="submit" disabled={adding}>
          {adding ? "Waiting for your device…" : "Add a passkey"}
        </button>
        <noscript>
          <p className="muted">Adding a passkey needs JavaScript.</p>
        </noscript>
      </form>
    </div>
  );
}
