/** What a page's `searchParams` resolves to. */
export type SearchParamValues = Record<string, string | string[] | undefined>;

/** One value of a query parameter (the first when repeated), or "". */
export function searchParam(params: SearchParamValues, name: string): string {
  const value = params[name];
  return (Array.isArray(value) ? value[0] : value) ?? "";
}
