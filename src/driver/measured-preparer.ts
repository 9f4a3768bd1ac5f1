/**
 * A `ClaimPreparer` decorator that counts and times the kubelet's DRA calls
 * (`network_dra_rpc_total` / `network_dra_rpc_duration_seconds`, service `dra`), and counts
 * per-claim errors by result.
 */
import type { ClaimPreparer, ClaimRef, PrepareResult } from '../kubelet/claim-preparer.js'
import type { Metrics } from '../observability/metrics.js'

export class MeasuredPreparer implements ClaimPreparer {
  readonly #inner: ClaimPreparer
  readonly #m: Metrics

  constructor(inner: ClaimPreparer, metrics: Metrics) {
    this.#inner = inner
    this.#m = metrics
  }

  async prepare(
    claims: readonly ClaimRef[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, PrepareResult>> {
    return this.#measure('NodePrepareResources', async () => {
      const res = await this.#inner.prepare(claims, signal)
      return { res, failed: [...res.values()].some(r => 'error' in r) }
    })
  }

  async unprepare(
    claims: readonly ClaimRef[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, { readonly error?: string }>> {
    return this.#measure('NodeUnprepareResources', async () => {
      const res = await this.#inner.unprepare(claims, signal)
      return { res, failed: [...res.values()].some(r => r.error !== undefined) }
    })
  }

  async #measure<T>(method: string, fn: () => Promise<{ res: T; failed: boolean }>): Promise<T> {
    const end = this.#m.rpcDuration.startTimer({ service: 'dra', method })
    try {
      const { res, failed } = await fn()
      this.#m.rpcTotal.inc({ service: 'dra', method, result: failed ? 'claim_error' : 'ok' })
      return res
    } catch (err) {
      this.#m.rpcTotal.inc({ service: 'dra', method, result: 'error' })
      throw err
    } finally {
      end()
    }
  }
}
