/**
 * In-process reader/writer locks by key, shared by every part of the daemon that must serialise
 * async work per key: the CNI runtime (no two operations on one attachment at once, GC exclusive
 * with ADD/DEL of its network: the CNI spec leaves that to the runtime), the attach side
 * (attach/request-locks.ts: two hooks for one (claim, request) never run CNI at once, a detach
 * never runs under an attach) and the prepare service (one claim prepared or
 * unprepared at a time). Different keys proceed in parallel. Waiters are served in arrival order;
 * a key with no holders and no waiters is forgotten.
 */

interface Waiter {
  readonly exclusive: boolean
  readonly wake: () => void
}

interface KeyState {
  readers: number
  writer: boolean
  queue: Waiter[]
}

/** Keyed async reader/writer lock; `exclusive` alone makes it a keyed mutex. */
export class KeyedLock {
  readonly #keys = new Map<string, KeyState>()

  /** Run `fn` holding `key` shared (other shared holders allowed, no exclusive holder). */
  shared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#run(key, false, fn)
  }

  /** Run `fn` holding `key` exclusively, once every earlier holder has finished (either way). */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#run(key, true, fn)
  }

  /**
   * Hold several keys exclusively at once. Keys are taken in sorted order, so two callers holding
   * overlapping sets can never deadlock.
   */
  exclusiveAll<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort()
    const step = (i: number): Promise<T> => {
      const key = sorted[i]
      if (key === undefined) return fn()
      return this.exclusive(key, () => step(i + 1))
    }
    return step(0)
  }

  /** Number of keys currently held or waited for (for tests: proves keys are released). */
  get size(): number {
    return this.#keys.size
  }

  async #run<T>(key: string, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await this.#acquire(key, exclusive)
    try {
      return await fn()
    } finally {
      this.#release(key, exclusive)
    }
  }

  #acquire(key: string, exclusive: boolean): Promise<void> {
    let st = this.#keys.get(key)
    if (!st) {
      st = { readers: 0, writer: false, queue: [] }
      this.#keys.set(key, st)
    }
    if (st.queue.length === 0 && this.#canTake(st, exclusive)) {
      this.#take(st, exclusive)
      return Promise.resolve()
    }
    const state = st
    return new Promise(resolve => {
      state.queue.push({ exclusive, wake: resolve })
    })
  }

  #canTake(st: KeyState, exclusive: boolean): boolean {
    return exclusive ? !st.writer && st.readers === 0 : !st.writer
  }

  #take(st: KeyState, exclusive: boolean): void {
    if (exclusive) st.writer = true
    else st.readers++
  }

  #release(key: string, exclusive: boolean): void {
    const st = this.#keys.get(key)
    if (!st) return
    if (exclusive) st.writer = false
    else st.readers--
    while (st.queue.length > 0) {
      const next = st.queue[0]
      if (!next || !this.#canTake(st, next.exclusive)) break
      st.queue.shift()
      this.#take(st, next.exclusive)
      next.wake()
    }
    if (!st.writer && st.readers === 0 && st.queue.length === 0) this.#keys.delete(key)
  }
}
