/**
 * Reports attach outcomes to Kubernetes (ARCHITECTURE step 6) and keeps claim status derived from
 * the state file, never lost:
 * - after every attach, the claim's `status.devices` is server-side applied from the recorded
 *   attachments (one entry per allocated device: Ready True with the CNI result and networkData,
 *   Ready False with the failure, or Pending while no container has asked yet), and a failed attach
 *   also posts a Warning Event on the pod. Runs behind the hook's reply; failures are logged and
 *   retried by the writer, never thrown;
 * - every such write is tracked until it settles, so shutdown can `drain()` them within its grace
 *   period (the write that follows the last hook reply is not dropped by SIGTERM);
 * - `reconcile()` (at start and periodically) compares the status of every claim in the state file
 *   with what the records say and fixes differences: entries missing (a write lost to a crash, or
 *   wiped by a user or another manager) or stale are re-applied, entries of devices no longer held
 *   are removed. Bounded: one GET per held claim per pass, a few at a time.
 * Writes of one claim are serialised and each reads the record when it runs, so the last write
 * always carries the latest record.
 */
import type { AttachFailedEvent, AttachObserver, AttachedEvent } from '../attach/attach-events.js'
import { sameAllocation } from '../attach/attachment-plan.js'
import { networkDataFromResult } from '../cni/result.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ClaimLedger } from '../state/claim-ledger.js'
import type { ClaimRecord } from '../state/state-types.js'
import type { ClaimStatusWriter, DeviceStatus } from '../status/claim-status.js'
import { httpStatusOf } from '../status/http-status.js'
import type { PodEventRecorder } from '../status/pod-events.js'
import { KeyedLock } from '../util/keyed-lock.js'

export interface StatusObserverOptions {
  /** The claim records, read only; `refresh` re-reads what another instance may have written. */
  readonly claims: Pick<ClaimLedger, 'claim' | 'refresh'>
  readonly writer: Pick<ClaimStatusWriter, 'write' | 'reconcile'>
  readonly events: Pick<PodEventRecorder, 'attachFailed'>
  readonly logger: Logger
  /** Claims reconciled at once. Default 4. */
  readonly reconcileConcurrency?: number
}

/** Outcome counts of one reconcile pass. */
export interface ReconcileReport {
  readonly claims: number
  readonly unchanged: number
  readonly written: number
  /** Claims whose object is gone (404): nothing to write. */
  readonly gone: number
  readonly failed: number
}

/** Desired status of every device of a claim, from its record. */
export function deviceStatuses(record: ClaimRecord): DeviceStatus[] {
  return record.plans.map(plan => {
    const recs = record.attachments.filter(a => sameAllocation(a, plan))
    const share = plan.shareID !== undefined ? { shareID: plan.shareID } : {}
    const latest = recs.reduce<(typeof recs)[number] | undefined>(
      (acc, a) => (acc === undefined || a.updatedAt >= acc.updatedAt ? a : acc),
      undefined,
    )
    if (latest === undefined) {
      return {
        pool: plan.pool,
        device: plan.device,
        ...share,
        ready: false,
        reason: 'Pending',
        message: 'prepared; waiting for a container that references the claim',
      }
    }
    if (latest.phase === 'failed' || latest.result === undefined) {
      return {
        pool: plan.pool,
        device: plan.device,
        ...share,
        ready: false,
        reason: 'NetworkAttachFailed',
        message: latest.error ?? 'attach failed',
      }
    }
    const nd = networkDataFromResult(latest.result, latest.ifName)
    return {
      pool: plan.pool,
      device: plan.device,
      ...share,
      ready: true,
      reason: 'NetworkReady',
      message: `${latest.ifName} attached to pod ${latest.podNamespace}/${latest.podName}`,
      result: latest.result,
      networkData: nd,
    }
  })
}

export class StatusObserver implements AttachObserver {
  readonly #o: StatusObserverOptions
  readonly #serial = new KeyedLock()
  readonly #pending = new Set<Promise<unknown>>()

  constructor(opts: StatusObserverOptions) {
    this.#o = opts
  }

  /** Status writes, events and reconcile passes not settled yet. */
  get pending(): number {
    return this.#pending.size
  }

  onAttached(event: AttachedEvent): Promise<void> {
    return this.#track(this.#writeStatus(event.claimUid))
  }

  onAttachFailed(event: AttachFailedEvent): Promise<void> {
    const pod = event.pod
    const tasks: Promise<void>[] = [this.#writeStatus(event.claimUid)]
    if (pod && pod.podNamespace !== '' && pod.podName !== '') {
      tasks.push(
        this.#o.events.attachFailed(
          { namespace: pod.podNamespace, name: pod.podName, uid: pod.podUid },
          {
            claim: `${event.claimNamespace}/${event.claimName}`,
            request: event.request,
            device: event.device,
            message: event.message,
          },
        ),
      )
    }
    return this.#track(Promise.all(tasks).then(() => undefined))
  }

  /**
   * Reconcile the status of every claim in the state file (re-read first). Never throws; each
   * claim's failure is logged and counted.
   */
  reconcile(): Promise<ReconcileReport> {
    return this.#track(this.#reconcileAll())
  }

  /**
   * Wait until every tracked write has settled, at most `timeoutMs`. Resolves with the number
   * still pending when the time ran out (0 = all drained).
   */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs
    while (this.#pending.size > 0) {
      const left = deadline - Date.now()
      if (left <= 0) break
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([...this.#pending]),
        new Promise(resolve => {
          timer = setTimeout(resolve, left)
        }),
      ])
      clearTimeout(timer)
    }
    return this.#pending.size
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p)
    const forget = (): void => {
      this.#pending.delete(p)
    }
    p.then(forget, forget)
    return p
  }

  async #reconcileAll(): Promise<ReconcileReport> {
    const counts = { claims: 0, unchanged: 0, written: 0, gone: 0, failed: 0 }
    let uids: string[]
    try {
      uids = Object.keys(await this.#o.claims.refresh())
    } catch (err: unknown) {
      this.#o.logger.warn({ err: errorMessage(err) }, 'status reconcile: cannot read the state')
      return { ...counts, failed: 1 }
    }
    counts.claims = uids.length
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < uids.length) {
        const uid = uids[next++] as string
        const outcome = await this.#reconcileOne(uid)
        counts[outcome]++
      }
    }
    const limit = Math.max(1, this.#o.reconcileConcurrency ?? 4)
    await Promise.all(Array.from({ length: Math.min(limit, uids.length) }, worker))
    const level = counts.written > 0 || counts.failed > 0 ? 'info' : 'debug'
    this.#o.logger[level](counts, 'claim status reconciled')
    return counts
  }

  #reconcileOne(uid: string): Promise<'unchanged' | 'written' | 'gone' | 'failed'> {
    return this.#serial.exclusive(uid, async () => {
      const record = this.#o.claims.claim(uid)
      if (!record) return 'gone'
      const ref = { namespace: record.namespace, name: record.name, uid: record.uid }
      try {
        // Derive the wanted status after the claim was read: an attachment another instance
        // recorded just before writing its status is then seen, never overwritten with older data.
        const r = await this.#o.writer.reconcile(ref, async () => {
          await this.#o.claims.refresh()
          const now = this.#o.claims.claim(uid)
          return now === undefined ? undefined : deviceStatuses(now)
        })
        if (r === 'written') {
          this.#o.logger.info(
            { claimUID: uid, namespace: record.namespace, name: record.name },
            'claim status differed from the recorded attachments; re-applied',
          )
        }
        return r
      } catch (err: unknown) {
        if (httpStatusOf(err) === 404) return 'gone'
        this.#o.logger.warn(
          { claimUID: uid, namespace: record.namespace, name: record.name, err: errorMessage(err) },
          'could not reconcile claim status',
        )
        return 'failed'
      }
    })
  }

  #writeStatus(claimUid: string): Promise<void> {
    return this.#serial.exclusive(claimUid, async () => {
      const record = this.#o.claims.claim(claimUid)
      if (!record) return
      try {
        await this.#o.writer.write(
          { namespace: record.namespace, name: record.name, uid: record.uid },
          deviceStatuses(record),
        )
      } catch (err) {
        if (httpStatusOf(err) === 404) return
        this.#o.logger.warn(
          {
            claimUID: claimUid,
            namespace: record.namespace,
            name: record.name,
            err: errorMessage(err),
          },
          'could not write claim status',
        )
      }
    })
  }
}
