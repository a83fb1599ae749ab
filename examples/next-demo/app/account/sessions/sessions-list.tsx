"use client";

import { useState } from "react";
import useSWR from "swr";
import type { SessionList } from "@tessera/next";
import { authFetch, createSessionFetcher } from "@tessera/next/client";
import { TableHead } from "@/app/components/table-head";
import { authPaths } from "@/lib/auth-paths";
import { formatUtc } from "@/lib/format";

const fetcher = createSessionFetcher({ paths: authPaths });
const SESSIONS = `${authPaths.basePath}/sessions`;

export function SessionsList() {
  const { data, error, isLoading, mutate } = useSWR<SessionList>(SESSIONS, fetcher);
  const [problem, setProblem] = useState<string | null>(null);

  async function revoke(path: string) {
    setProblem(null);
    const response = await authFetch(path, { method: "DELETE" });
    if (!response.ok) setProblem(`Could not revoke (${response.status}).`);
    await mutate();
  }

  if (isLoading) return <p>Loading devices…</p>;
  if (error || !data) return <p className="form-error">Could not load your devices.</p>;
  const others = data.sessions.filter((s) => !s.current);
  return (
    <>
      {problem ? (
        <p className="form-error" role="alert">
          {problem}
        </p>
      ) : null}
      <table className="sessions">
        <TableHead columns={["Device", "IP", "Last seen", "Signed in"]} />
        <tbody>
          {data.sessions.map((s) => (
            <tr key={s.id} data-testid="session-row" data-current={s.current ? "true" : "false"}>
              <td className="agent">{s.user_agent ?? "Unknown device"}</td>
              <td>{s.ip ?? "–"}</td>
              <td>{formatUtc(s.last_seen_at)}</td>
              <td>{formatUtc(s.created_at)}</td>
              <td>
                {s.current ? (
                  <span className="badge">This device</span>
                ) : (
                  <button type="button" className="secondary" onClick={() => void revoke(`${SESSIONS}/${encodeURIComponent(s.id)}`)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {others.length > 0 ? (
        <button type="button" onClick={() => void revoke(SESSIONS)}>
          Sign out everywhere else
        </button>
      ) : (
        <p className="muted">No other devices are signed in.</p>
      )}
    </>
  );
}
