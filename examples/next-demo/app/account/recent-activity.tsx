import Link from "next/link";
import type { ActivityEvent } from "@tessera/next";
import { oauthProviderLabel } from "@tessera/next/server";
import { formatUtc } from "@/lib/format";

/** What each event kind says on the page; a kind a newer tessera adds is shown as its name. */
const KIND_WORDS: Readonly<Record<string, string>> = {
  sign_up: "Account created",
  sign_in: "Signed in",
  sign_in_failed: "Failed sign-in (wrong password)",
  mfa_challenge_failed: "Failed sign-in (wrong second-step code)",
  sign_out: "Signed out",
  session_revoked: "Signed out a device",
  password_changed: "Password changed",
  password_reset: "Password reset by email",
  email_verified: "Email address verified",
  email_changed: "Email address changed",
  factor_added: "Second step added (authenticator app or passkey)",
  factor_removed: "Second step removed (authenticator app or passkey)",
  identity_linked: "Sign-in provider linked",
  identity_unlinked: "Sign-in provider unlinked",
  refresh_reuse_detected: "A stolen sign-in token was used: those sessions were ended",
  user_disabled: "Account disabled",
  user_enabled: "Account enabled again",
  roles_changed: "Roles changed",
  user_deleted: "Account deleted",
};

/** `sign_in` → "Signed in"; with the provider when the event names one, and who did it when it was not the user. */
export function describeEvent(event: ActivityEvent): string {
  let words = KIND_WORDS[event.kind] ?? event.kind.replace(/_/g, " ");
  const provider = event.detail.provider;
  if (typeof provider === "string" && provider !== "") words += `: ${oauthProviderLabel(provider)}`;
  if (event.actor.startsWith("admin")) words += " by an administrator";
  else if (event.actor === "cli") words += " by an operator";
  else if (event.actor === "system") words += " automatically";
  return words;
}

/** The user's last security events, newest first, as tessera lists them: plain server-rendered HTML. */
export function RecentActivity({ events }: { events: readonly ActivityEvent[] }) {
  return (
    <div className="panel" data-testid="recent-activity">
      <h2 id="recent-activity">Recent activity</h2>
      <p className="muted">Your last {events.length === 1 ? "event" : `${events.length} events`}, newest first. Something you do not recognise? <Link href="/account/password">Change your password</Link>.</p>
      {events.length > 0 ? (
        <table className="sessions" aria-labelledby="recent-activity">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What happened</th>
              <th scope="col">IP address</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.id} data-testid="activity-row" data-kind={event.kind}>
                <td>
                  <time dateTime={event.at}>{formatUtc(event.at)}</time>
                </td>
                <td>{describeEvent(event)}</td>
                <td>{event.ip ?? <span className="muted">unknown</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted" data-testid="no-activity">
          Nothing yet.
        </p>
      )}
    </div>
  );
}
