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
