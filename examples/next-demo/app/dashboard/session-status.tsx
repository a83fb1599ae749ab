"use client";

import { useSession } from "@tessera/next/client";

/** What client components see through useSession(); it follows other tabs too. */
export function SessionStatus() {
  const { status, user, session, update } = useSession();
  return (
    <div className="panel">
      <p>
        Client session: <strong data-testid="session-status">{status}</strong>
        {user ? (
          <>
            {" "}
            as <span data-testid="session-user">{user.name || user.email}</span>
          </>
        ) : null}
      </p>
      {session ? <p className="muted">Session expires {new Date(session.expires_at).toLocaleString("en-GB", { timeZone: "UTC" })} UTC.</p> : null}
      <button type="button" className="secondary" onClick={() => void update()}>
        Check again
      </button>
    </div>
  );
}
