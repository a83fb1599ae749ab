import Link from "next/link";
import type { ActivityEvent } from "@tessera/next";
import { oauthProviderLabel } from "@tessera/next/server";
import { eventKindWords } from "@/lib/event-words";
import { formatUtc } from "@/lib/format";

/** `sign_in` → "Signed in"; with the provider when the event names one, and who did it when it was not the user. */
export function describeEvent(event: ActivityEvent): string {
  let words = eventKindWords(event.kind);
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
