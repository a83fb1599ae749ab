import Link from "next/link";
import { tessera } from "@/lib/auth";
import { EVENT_KIND_WORDS, eventKindWords } from "@/lib/event-words";
import { formatUtc } from "@/lib/format";
import { type SearchParamValues, searchParam } from "@/lib/search-params";
import { AdminNav, PageLinks, loadForAdmin } from "../admin-access";

export const metadata = { title: "Audit log · Admin · Tessera demo" };

/** Events per page (tessera's own default is 50). */
const PAGE_SIZE = 20;

/** `admin:<id>` → a link to that administrator; the other actors in words. */
function Actor({ actor }: { actor: string }) {
  if (actor.startsWith("admin:")) {
    const id = actor.slice("admin:".length);
    return (
      <>
        administrator <Link href={`/admin/users/${encodeURIComponent(id)}`}>{actor}</Link>
      </>
    );
  }
  const words: Record<string, string> = { user: "the user", admin_key: "the admin key", cli: "an operator (command line)", system: "tessera" };
  return <>{words[actor] ?? actor}</>;
}

/**
 * The audit log, newest first, a page at a time, filtered by user and kind:
 * a plain GET form and links, so it works without JavaScript and a filtered
 * view can be shared.
 */
export default async function AdminAuditPage({ searchParams }: { searchParams: Promise<SearchParamValues> }) {
  await tessera.requireRole("admin", "/admin/audit");
  const params = await searchParams;
  const user = searchParam(params, "user").trim();
  const kind = searchParam(params, "kind");
  const cursor = searchParam(params, "cursor");
  const page = await loadForAdmin(() => tessera.admin.auditLog({ user, kind, cursor, limit: PAGE_SIZE }), "/admin/audit");
  const filters = { ...(user ? { user } : {}), ...(kind ? { kind } : {}) };
  return (
    <section>
      <h1>Admin: audit log</h1>
      <AdminNav />
      <form method="get" action="/admin/audit" className="panel search-form" aria-label="Filter events">
        <div className="field">
          <label htmlFor="audit-user">User id</label>
          <input id="audit-user" name="user" type="text" defaultValue={user} autoComplete="off" spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="audit-kind">Kind</label>
          <select id="audit-kind" name="kind" defaultValue={kind}>
            <option value="">Any</option>
            {Object.entries(EVENT_KIND_WORDS).map(([value, words]) => (
              <option key={value} value={value}>
                {words}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      {page.ok ? (
        <>
          {page.value.events.length > 0 ? (
            <table className="sessions" aria-label="Audit log">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">What happened</th>
                  <th scope="col">User</th>
                  <th scope="col">Who did it</th>
                  <th scope="col">IP address</th>
                </tr>
              </thead>
              <tbody>
                {page.value.events.map((event) => (
                  <tr key={event.id} data-testid="audit-row" data-kind={event.kind} data-actor={event.actor}>
                    <td>
                      <time dateTime={event.at}>{formatUtc(event.at)}</time>
                    </td>
                    <td>{eventKindWords(event.kind)}</td>
                    <td className="agent">
                      {event.user_id ? <Link href={`/admin/users/${encodeURIComponent(event.user_id)}`}>{event.user_id}</Link> : <span className="muted">none</span>}
                    </td>
                    <td className="agent">
                      <Actor actor={event.actor} />
                    </td>
                    <td>{event.ip ?? <span className="muted">unknown</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted" data-testid="audit-empty">
              No events{user || kind ? " match these filters" : " yet"}.
            </p>
          )}
          <PageLinks path="/admin/audit" params={filters} paged={cursor !== ""} next={page.value.next_cursor} first="Newest" />
        </>
      ) : (
        page.page
      )}
    </section>
  );
}
