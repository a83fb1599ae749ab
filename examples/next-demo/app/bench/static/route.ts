import { benchAnswer, benchEnabled, benchNotFound } from "@/lib/bench";

/**
 * Benchmark only (TESSERA_DEMO_BENCH=1, else 404): the baseline of
 * `app/bench/session/route.ts` (see there why these are route handlers), the
 * same answer with a fixed user id and no call to tessera. Dynamic like its
 * twin, so `next build` never turns it into a prerendered file.
 */
export const dynamic = "force-dynamic";

const FIXED_USER_ID = "00000000-0000-7000-8000-000000000000";

export async function GET(): Promise<Response> {
  if (!benchEnabled()) return benchNotFound();
  return benchAnswer(FIXED_USER_ID);
}
