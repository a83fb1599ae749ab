/** What the mocked `next/headers` and `next/navigation` see and record. */
export const request = {
  headers: {} as Record<string, string>,
  jar: new Map<string, { name: string; value: string; [key: string]: unknown }>(),
};

export class RedirectSignal extends Error {
  constructor(readonly url: string) {
    super(`redirect to ${url}`);
  }
}

export function resetRequest(headers: Record<string, string>, cookies: Record<string, string> = {}) {
  request.headers = headers;
  request.jar.clear();
  for (const [name, value] of Object.entries(cookies)) request.jar.set(name, { name, value });
}

/**
 * `next/headers` over {@link request}, for `vi.mock("next/headers", ...)`.
 * The request's own Cookie header is whatever the test put in
 * `request.headers`; the kit must read tessera's cookies from the store
 * (`request.jar`) instead.
 */
export const nextHeaders = {
  headers: async () => new Headers(request.headers),
  cookies: async () => ({
    get: (name: string) => request.jar.get(name),
    getAll: () => [...request.jar.values()],
    has: (name: string) => request.jar.has(name),
    set: (options: { name: string; value: string }) => request.jar.set(options.name, options),
  }),
};

export class NotFoundSignal extends Error {
  constructor() {
    super("not found");
  }
}

/**
 * `next/navigation` whose `redirect` throws a {@link RedirectSignal} and
 * `notFound` a {@link NotFoundSignal}, as Next's throw their own.
 */
export const nextNavigation = {
  redirect: (url: string): never => {
    throw new RedirectSignal(url);
  },
  notFound: (): never => {
    throw new NotFoundSignal();
  },
};

/** The URL a promise was redirected to; fails when it settled any other way. */
export async function redirectOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof RedirectSignal)) throw new Error(`expected a redirect, got ${String(error)}`);
  return error.url;
}

export function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}
