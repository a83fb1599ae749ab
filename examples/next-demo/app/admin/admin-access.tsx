import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import type { ReactNode } from "react";
import { isTesseraError, signInUrl } from "@tessera/next";
import { authPaths } from "@/lib/auth-paths";

/** What an admin page shows: the data, or why there is none. */
export type AdminLoad<T> = { ok: true; value: T } | { ok: false; page: ReactNode };

/**
 * Runs one of the kit's admin readers for a page that already called
 * `requireRole("admin")`. tessera has the last word: an administrator
 * whose session has no second factor gets a page that says so; a query
 * tessera refuses (a stale cursor, a malformed filter) a page that offers
 * to start again; a role taken away meanwhile a 404, as `requireRole`
 * would give; a session ended meanwhile the sign-in page.
 */
export async function loadForAdmin<T>(load: () => Promise<T>, here: string): Promise<AdminLoad<T>> {
  try {
    return { ok: true, value: await load() };
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    if (error.code === "second_factor_required") return { ok: false, page: <SecondFactorNeeded /> };
    if (error.code === "admin_required") notFound();
    if (error.code === "unauthenticated") redirect(signInUrl(authPaths.signInPath, here));
    if (error.code === "request_failed") {
      const fields = (error.problem?.errors ?? []).map((e) => `${e.field.replace(/_/g, " ")} ${e.message}`);
      return { ok: false, page: <RefusedQuery reasons={fields} startAgain={here} /> };
    }
    throw error;
  }
}

/** An administrator signed in with a password (or a provider) alone: the admin API wants a second factor. */
export function SecondFactorNeeded() {
  return (
    <div className="panel" data-testid="admin-second-factor" role="alert">
      <h2>Sign in with a second factor to use admin</h2>
      <p>
        Administration needs a session that proved a second factor. Sign out, then sign in again with a code from your authenticator app or with a
        passkey.
      </p>
      <p className="muted">
        No second factor yet? <Link href="/account/security">Set up an authenticator app or a passkey</Link> first.
      </p>
    </div>
  );
}

function RefusedQuery({ reasons, startAgain }: { reasons: readonly string[]; startAgain: string }) {
  return (
    <div className="panel" data-testid="admin-refused-query">
      <p className="form-error" role="alert">
        This search or page link is not valid{reasons.length > 0 ? `: ${reasons.join("; ")}` : ""}.
      </p>
      <p>
        <Link href={startAgain}>Start again</Link>
      </p>
    </div>
  );
}

/** The admin area's own links, under each page's heading. */
export function AdminNav() {
  return (
    <p className="muted">
      <Link href="/admin">Users</Link> · <Link href="/admin/audit">Audit log</Link>
    </p>
  );
}

/**
 * "First page · Next page" under a list: plain links that keep the filters
 * (`params`) in the URL, so paging works without JavaScript. `path` is the
 * list's page; `paged` whether this is a later page, `next` the cursor of
 * the one after (null on the last).
 */
export function PageLinks({ path, params, paged, next, first = "First page" }: { path: string; params: Record<string, string>; paged: boolean; next: string | null; first?: string }) {
  const href = (query: Record<string, string>) => (Object.keys(query).length > 0 ? `${path}?${new URLSearchParams(query)}` : path);
  return (
    <p>
      {paged ? <Link href={href(params)}>{first}</Link> : null}
      {paged && next ? " · " : null}
      {next ? (
        <Link href={href({ ...params, cursor: next })} rel="next">
          Next page
        </Link>
      ) : null}
    </p>
  );
}
