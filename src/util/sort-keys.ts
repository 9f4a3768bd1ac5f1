/**
 * Deep copy of a JSON value with object keys in sorted order: a canonical form for comparing what we
 * want published with what the API server holds (key order is not significant in JSON).
 */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map(k => [k, sortKeys((v as Record<string, unknown>)[k])]),
    )
  }
  return v
}
