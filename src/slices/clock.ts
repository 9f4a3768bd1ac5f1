/**
 * Time as an injected seam for the background loops of the Kubernetes-object side (slice resync,
 * host-link polling, status retries), so unit tests drive time by hand instead of sleeping.
 */

/** A scheduled callback that can be cancelled. */
export interface Timer {
  cancel(): void
}

/** The clock the loops use. */
export interface Clock {
  now(): Date
  /** Run `fn` once after `ms`; the timer never keeps the process alive on its own. */
  setTimeout(fn: () => void, ms: number): Timer
  /** Resolve after `ms` (rejects with the signal's reason when aborted first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms)
    h.unref()
    return {
      cancel: () => {
        clearTimeout(h)
      },
    }
  },
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error)
        return
      }
      const h = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      const onAbort = (): void => {
        clearTimeout(h)
        reject(signal?.reason as Error)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  },
}
