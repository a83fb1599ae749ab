import { tessera } from "@/lib/auth";
import { benchAnswer, benchEnabled, benchNotFound } from "@/lib/bench";

/**
 * Benchmark only (TESSERA_DEMO_BENCH=1, else 404): the kit's `getSession()`,
 * the same server-side call the demo's pages make (one tessera call per
 * request), answered as `{user: {id}}`, 401 when signed out. Its twin
 * `app/bench/static/route.ts` answers the same shape without the call.
 *
 * Route handlers rather than pages: every page of the demo renders inside
 * the root layout, which itself calls `getSession()` for the header, so a
 * "static" page would still ask tessera and the comparison would be void
 * (and the HTML/RSC render of the layout would weigh on both sides). Two
 * route handlers go through the same path in `next start` (proxy.ts with its
 * CSP nonce, since its matcher only skips /api and assets; routing; one
 * dynamic function call; a small JSON answer) and differ only in the auth
 * call. The figure is therefore the cost of `getSession()` itself, which is
 * what a page pays on top of its own rendering.
 */
export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  if (!benchEnabled()) return benchNotFound();
  const session = await tessera.getSession();
  return benchAnswer(session ? session.user.id : null);
}
