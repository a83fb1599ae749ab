"use client";

import { useActionState } from "react";
import { initialAuthFormState } from "@tessera/next";
import { unlinkIdentityAction } from "@/app/actions";
import { FormMessage } from "@/app/components/field";
import { TableHead } from "@/app/components/table-head";

export interface LinkedIdentity {
  provider: string;
  label: string;
  email: string | null;
  /** When it was linked, already formatted. */
  linked: string;
}

export interface LinkableProvider {
  name: string;
  label: string;
  href: string;
}

/**
 * Linked providers with an Unlink button each (one server action, so it works
 * without JavaScript), and a link to start linking each provider not linked yet.
 */
export function SignInMethods({ linked, available }: { linked: readonly LinkedIdentity[]; available: readonly LinkableProvider[] }) {
  const [state, formAction, pending] = useActionState(unlinkIdentityAction, initialAuthFormState);
  return (
    <div className="panel" data-testid="sign-in-methods">
      <h2 id="sign-in-methods">Sign-in methods</h2>
      <FormMessage status={state.status} message={state.message} />
      {linked.length > 0 ? (
        <table className="sessions" aria-labelledby="sign-in-methods">
          <TableHead columns={["Provider", "Email", "Linked"]} />
          <tbody>
            {linked.map((identity) => (
              <tr key={identity.provider} data-testid="identity-row" data-provider={identity.provider}>
                <td>{identity.label}</td>
                <td>{identity.email ?? "–"}</td>
                <td>{identity.linked}</td>
                <td>
                  <form action={formAction}>
                    <input type="hidden" name="provider" value={identity.provider} />
                    <input type="hidden" name="next" value="/account" />
                    <button type="submit" className="secondary" disabled={pending} aria-label={`Unlink ${identity.label}`}>
                      Unlink
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted" data-testid="no-identities">
          No provider is linked to your account.
        </p>
      )}
      {available.length > 0 ? (
        <ul className="oauth-providers">
          {available.map((provider) => (
            <li key={provider.name}>
              <a className="button secondary" href={provider.href} rel="nofollow">
                Link {provider.label}
              </a>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
