import Link from "next/link";
import { notFound } from "next/navigation";
import { oauthProviderLabel } from "@tessera/next/server";
import { tessera } from "@/lib/auth";
import { formatUtc } from "@/lib/format";
import { AdminNav, loadForAdmin } from "../../admin-access";
import { DeleteUserForm, DisableForm, PasswordResetForm, RevokeSessionsForm, RolesForm } from "./user-forms";

export const metadata = { title: "User · Admin · Tessera demo" };

/** One user as administrators see them, and what they can do about them. */
export default async function AdminUserPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const here = `/admin/users/${encodeURIComponent(id)}`;
  await tessera.requireRole("admin", here);
  const loaded = await loadForAdmin(() => tessera.admin.getUser(id), here);
  if (!loaded.ok) {
    return (
      <section>
        <h1>Admin: user</h1>
        <AdminNav />
        {loaded.page}
      </section>
    );
  }
  // An unknown id, or a user deleted meanwhile.
  if (!loaded.value) notFound();
  const { user, identities, sessions, second_factors: factors } = loaded.value;
  return (
    <section>
      <h1>
        Admin: <span data-testid="admin-user-email">{user.email}</span>
      </h1>
      <AdminNav />
      <div className="panel">
        <dl className="facts">
          <dt>Name</dt>
          <dd>{user.name ?? <span className="muted">none</span>}</dd>
          <dt>Email verified</dt>
          <dd>{user.email_verified ? "yes" : "no"}</dd>
          <dt>Created</dt>
          <dd>{formatUtc(user.created_at)}</dd>
          <dt>User id</dt>
          <dd>
            <code data-testid="admin-user-id">{user.id}</code>
          </dd>
        </dl>
        <p>
          <Link href={`/admin/audit?${new URLSearchParams({ user: user.id })}`}>This user&apos;s audit log</Link>
        </p>
      </div>
      <DisableForm userId={user.id} disabled={user.disabled} />
      <RolesForm userId={user.id} roles={user.roles} />
      <div className="panel" data-testid="admin-sessions">
        <h2 id="admin-sessions-heading">Sessions</h2>
        {sessions.length > 0 ? (
          <table className="sessions" aria-labelledby="admin-sessions-heading">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">IP</th>
                <th scope="col">Last seen</th>
                <th scope="col">Signed in</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((session) => (
                <tr key={session.id} data-testid="admin-session-row">
                  <td className="agent">{session.user_agent ?? "Unknown device"}</td>
                  <td>{session.ip ?? "–"}</td>
                  <td>{formatUtc(session.last_seen_at)}</td>
                  <td>{formatUtc(session.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted" data-testid="admin-no-sessions">
            Not signed in anywhere.
          </p>
        )}
        <RevokeSessionsForm userId={user.id} />
      </div>
      <div className="panel" data-testid="admin-sign-in-methods">
        <h2>Sign-in methods</h2>
        <dl className="facts">
          <dt>Authenticator app</dt>
          <dd data-testid="admin-totp">
            {factors.totp_enabled ? `on, ${factors.recovery_codes_remaining} recovery ${factors.recovery_codes_remaining === 1 ? "code" : "codes"} left` : "off"}
          </dd>
          <dt>Passkeys</dt>
          <dd data-testid="admin-passkeys">{factors.passkeys}</dd>
          <dt>Providers</dt>
          <dd data-testid="admin-identities">
            {identities.length > 0
              ? identities.map((identity) => `${oauthProviderLabel(identity.provider)}${identity.email ? ` (${identity.email})` : ""}`).join(", ")
              : "none"}
          </dd>
        </dl>
      </div>
      <PasswordResetForm userId={user.id} />
      <DeleteUserForm userId={user.id} email={user.email} />
    </section>
  );
}
