import "server-only";

/**
 * Shared by the two benchmark routes (`app/bench/session` and
 * `app/bench/static`, measured by `bench/scenarios/30-nextjs.sh`) so that
 * they differ in nothing but the call to tessera.
 *
 * They exist only when `TESSERA_DEMO_BENCH=1` is set when `next start` runs
 * (read per request, not baked in by `next build`); otherwise they answer
 * 404 like any unknown path.
 */
export function benchEnabled(): boolean {
  return process.env.TESSERA_DEMO_BENCH === "1";
}

const NO_STORE = { "cache-control": "no-store" };

export function benchNotFound(): Response {
  return new Response("Not Found", { status: 404, headers: { ...NO_STORE, "content-type": "text/plain; charset=utf-8" } });
}

/** `{user: {id}}`, or 401 `{user: null}`: the same small JSON from both routes. */
export function benchAnswer(userId: string | null): Response {
  return Response.json({ user: userId === null ? null : { id: userId } }, { status: userId === null ? 401 : 200, headers: NO_STORE });
}
