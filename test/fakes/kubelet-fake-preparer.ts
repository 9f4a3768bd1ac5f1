/**
 * Hand-written ClaimPreparer for unit tests of the DRA service: records every call and the signal it
 * got, and answers from a preset table (or waits, or throws) so tests can shape the reply freely.
 */
import type { ClaimPreparer, ClaimRef, PrepareResult } from '../../src/kubelet/claim-preparer.js'

export interface FakePreparerOptions {
  /** Result per claim UID; claims not listed get no entry at all. */
  prepare?: (claims: readonly ClaimRef[]) => Map<string, PrepareResult>
  unprepare?: (claims: readonly ClaimRef[]) => Map<string, { error?: string }>
  /** Thrown instead of answering. */
  throws?: Error
  /** Wait for the signal to abort before answering (then reject with its reason). */
  waitForAbort?: boolean
}

export class FakePreparer implements ClaimPreparer {
  readonly calls: { op: 'prepare' | 'unprepare'; claims: ClaimRef[]; signal: AbortSignal }[] = []
  readonly #opts: FakePreparerOptions

  constructor(opts: FakePreparerOptions = {}) {
    this.#opts = opts
  }

  async prepare(
    claims: readonly ClaimRef[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, PrepareResult>> {
    this.calls.push({ op: 'prepare', claims: [...claims], signal })
    await this.#behave(signal)
    return this.#opts.prepare?.(claims) ?? new Map()
  }

  async unprepare(
    claims: readonly ClaimRef[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, { error?: string }>> {
    this.calls.push({ op: 'unprepare', claims: [...claims], signal })
    await this.#behave(signal)
    return this.#opts.unprepare?.(claims) ?? new Map()
  }

  async #behave(signal: AbortSignal): Promise<void> {
    if (this.#opts.throws !== undefined) throw this.#opts.throws
    if (this.#opts.waitForAbort) {
      await new Promise<never>((_res, reject) => {
        const fail = (): void => {
          reject(signal.reason as Error)
        }
        if (signal.aborted) fail()
        else signal.addEventListener('abort', fail, { once: true })
      })
    }
  }
}
