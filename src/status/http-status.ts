/**
 * HTTP status of a failed Kubernetes API call, narrowed from an unknown caught value (the
 * client's `ApiException.code`, possibly wrapped as a DriverError `cause`). Used to tell
 * retryable failures (409, 429, 5xx, network) from final ones (400, 403, 404, 422).
 */

/** The HTTP status, or undefined for network errors and non-HTTP failures. */
export function httpStatusOf(err: unknown): number | undefined {
  let e: unknown = err
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'number' && code >= 100 && code < 600) return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** Whether a failed call is worth retrying. */
export function isRetryable(err: unknown): boolean {
  const status = httpStatusOf(err)
  return status === undefined || status === 409 || status === 429 || status >= 500
}
