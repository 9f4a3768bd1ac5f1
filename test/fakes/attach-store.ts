// Hand-written in-memory fake of the state-store seam the attacher uses (AttachStore): same
// update() contract (mutable copy, applied atomically), no file, optional injected failure. It
// models a second plugin instance sharing the file: `external()` changes the "file" without this
// instance seeing it until it calls refresh() or update(), as with the real StateStore.
import type { AttachStore } from '../../src/attach/attacher.js'
import type { ClaimRecord, PluginState } from '../../src/state/state-types.js'
import { DriverError } from '../../src/errors.js'

export class MemoryAttachStore implements AttachStore {
  /** What the shared file holds. */
  #file: Record<string, ClaimRecord>
  /** What this instance last read or wrote. */
  #view: Record<string, ClaimRecord>
  updates = 0
  refreshes = 0
  /** Next update() rejects with NDRA_STATE_LOCK (consumed once). */
  failNextUpdate = false

  constructor(claims: readonly ClaimRecord[] = []) {
    this.#file = Object.fromEntries(claims.map(c => [c.uid, c]))
    this.#view = this.#file
  }

  claim(uid: string): ClaimRecord | undefined {
    return this.#view[uid]
  }

  snapshot(): PluginState {
    return { apiVersion: 'network-dra.state/v1', kind: 'PluginState', claims: this.#view }
  }

  async refresh(): Promise<PluginState> {
    await Promise.resolve()
    this.refreshes++
    this.#view = this.#file
    return this.snapshot()
  }

  /** Another instance's write: visible here only after refresh() or update(). */
  external(fn: (claims: Record<string, ClaimRecord>) => void): void {
    const copy = structuredClone(this.#file)
    fn(copy)
    this.#file = copy
  }

  async update<T>(fn: (claims: Record<string, ClaimRecord>) => T): Promise<T> {
    await Promise.resolve()
    if (this.failNextUpdate) {
      this.failNextUpdate = false
      throw new DriverError('NDRA_STATE_LOCK', 'fake: cannot lock state')
    }
    const copy = structuredClone(this.#file)
    const out = fn(copy)
    this.#file = copy
    this.#view = copy
    this.updates++
    return out
  }
}
