/**
 * The keyed mutex of the attach side: operations on one (claim UID, request) — an attach, the
 * detach of its claim — never overlap, so two hooks for one request never run CNI at once and an
 * unprepare never DELs under a running ADD; different claims run in parallel. The attacher and
 * the detacher share one instance.
 */
import { KeyedLock } from '../util/keyed-lock.js'

function key(claimUid: string, request: string): string {
  return `${claimUid}/${request}`
}

/** Mutex per (claim, request), shared by the attacher and the detacher. */
export class RequestLocks {
  readonly #locks = new KeyedLock()

  /** Run `fn` holding (claim, request). */
  forRequest<T>(claimUid: string, request: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.exclusive(key(claimUid, request), fn)
  }

  /** Run `fn` holding every given request of the claim (taken in sorted order: no deadlock). */
  forRequests<T>(claimUid: string, requests: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    return this.#locks.exclusiveAll(
      [...requests].map(r => key(claimUid, r)),
      fn,
    )
  }
}
