/**
 * `@tessera/next/route`: the route handler of the default, env-configured
 * instance (`tessera` of `@tessera/next/server`), for an app that keeps the
 * default paths. The whole of `app/api/auth/[...tessera]/route.ts`:
 *
 * `export { GET, POST, PATCH, DELETE } from "@tessera/next/route";`
 *
 * It is mounted at `/api/auth` (the default `basePath`): a route folder
 * elsewhere, or other paths, need `createTessera({ paths })` and its
 * `handlers` instead.
 */
import "server-only";
import { tessera } from "../server/default.js";
import type { AuthRouteHandler } from "../server/route-handler.js";

export type { AuthRouteHandler } from "../server/route-handler.js";

// Named one by one: Next reads a route's methods from its exports.
export const GET: AuthRouteHandler = tessera.handlers.GET;
export const POST: AuthRouteHandler = tessera.handlers.POST;
/** `PATCH /v1/user` (the profile). */
export const PATCH: AuthRouteHandler = tessera.handlers.PATCH;
export const DELETE: AuthRouteHandler = tessera.handlers.DELETE;
