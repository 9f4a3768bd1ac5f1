/**
 * A keyed async mutex: operations that share a key run one after another, operations on different
 * keys run in parallel. The attacher uses it so that two hooks for the same (claim, request) never
 * run CNI for the same attachment at once (the CNI spec forbids parallel operations per container),
 * while different claims proceed independently.
 */

/** Serialises async work per key; keys with no waiter hold no memory. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>()

  /** Run `fn` once every earlier holder of `key` has finished (successfully or not). */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    let release: () => void = () => undefined
    const mine = new Promise<void>(resolve => {
      release = resolve
    })
    const tail = previous.then(() => mine)
    this.#tails.set(key, tail)
    await previous
    try {
      return await fn()
    } finally {
      release()
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
  }

  /**
   * Hold several keys at once. Keys are taken in sorted order, so two callers holding overlapping
   * sets can never deadlock.
   */
  async runAll<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort()
    const step = async (i: number): Promise<T> => {
      const key = sorted[i]
      if (key === undefined) return fn()
      return this.run(key, () => step(i + 1))
    }
    return step(0)
  }

  /** Number of keys currently held or waited for (for tests and metrics). */
  get size(): number {
    return this.#tails.size
  }
}
