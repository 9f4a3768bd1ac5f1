// Hand-written in-memory fake of the state-store seam the attacher uses (AttachStore): same
// update() contract (mutable copy, applied atomically), no file, optional injected failure.
import type { AttachStore } from '../../src/attach/attacher.js'
import type { ClaimRecord, PluginState } from '../../src/state/state-types.js'
import { DriverError } from '../../src/errors.js'

export class MemoryAttachStore implements AttachStore {
  #claims: Record<string, ClaimRecord>
  updates = 0
  /** Next update() rejects with NDRA_STATE_LOCK (consumed once). */
  failNextUpdate = false

  constructor(claims: readonly ClaimRecord[] = []) {
    this.#claims = Object.fromEntries(claims.map(c => [c.uid, c]))
  }

  claim(uid: string): ClaimRecord | undefined {
    return this.#claims[uid]
  }

  snapshot(): PluginState {
    return { apiVersion: 'network-dra.state/v1', kind: 'PluginState', claims: this.#claims }
  }

  async update<T>(fn: (claims: Record<string, ClaimRecord>) => T): Promise<T> {
    await Promise.resolve()
    if (this.failNextUpdate) {
      this.failNextUpdate = false
      throw new DriverError('NDRA_STATE_LOCK', 'fake: cannot lock state')
    }
    const copy = structuredClone(this.#claims)
    const out = fn(copy)
    this.#claims = copy
    this.updates++
    return out
  }
}
