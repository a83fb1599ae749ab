import Link from "next/link";
import { tessera } from "@/lib/auth";
import { formatUtc } from "@/lib/format";
import { type SearchParamValues, searchParam } from "@/lib/search-params";
import { AdminNav, PageLinks, loadForAdmin } from "./admin-access";

export const metadata = { title: "Admin · Tessera demo" };

/** Users per page (tessera's own default is 50). */
const PAGE_SIZE = 20;


/**
 * Users, found by part of their email or name, a page at a time. A plain
 * GET form and links: the query and the cursor live in the URL, so paging
 * works without JavaScript and a page can be shared with another admin.
 */
export default async function AdminUsersPage({ searchParams }: { searchParams: Promise<SearchParamValues> }) {
  await tessera.requireRole("admin", "/admin");
  const params = await searchParams;
  const query = searchParam(params, "query");
  const cursor = searchParam(params, "cursor");
  const page = await loadForAdmin(() => tessera.admin.listUsers({ query, cursor, limit: PAGE_SIZE }), "/admin");
  return (
    <section>
      <h1>Admin: users</h1>
      <AdminNav />
      {page.ok ? (
        <>
          <form method="get" action="/admin" className="panel search-form" role="search" aria-label="Users">
            <div className="field">
              <label htmlFor="admin-query">Search users</label>
              <input id="admin-query" name="query" type="search" defaultValue={query} placeholder="Part of an email or a name" />
            </div>
            <button type="submit">Search</button>
          </form>
          {page.value.users.length > 0 ? (
            <table className="sessions" aria-label="Users">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Name</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {page.value.users.map((user) => (
                  <tr key={user.id} data-testid="admin-user-row">
                    <td>
                      <Link href={`/admin/users/${user.id}`}>{user.email}</Link>
                    </td>
                    <td>{user.name ?? <span className="muted">none</span>}</td>
                    <td>{user.roles.length > 0 ? user.roles.join(", ") : <span className="muted">none</span>}</td>
                    <td>{user.disabled ? <span className="badge danger">Disabled</span> : "Active"}</td>
                    <td>{formatUtc(user.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted" data-testid="admin-no-users">
              {query ? `No user's email or name contains “${query}”.` : "No users yet."}
            </p>
          )}
          <PageLinks path="/admin" params={query ? { query } : {}} paged={cursor !== ""} next={page.value.next_cursor} />
        </>
      ) : (
        page.page
      )}
    </section>
  );
}
