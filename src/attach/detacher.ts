/**
 * Unprepare's network half (ARCHITECTURE step 7): DEL every recorded attachment of a claim in
 * reverse plan order (CniRuntime.del feeds the cached result as prevResult), tolerating a vanished
 * netns (DEL then runs with an empty CNI_NETNS), then record them `detached`.
 *
 * A DEL of an attached record that fails keeps its record and fails the call, so the kubelet's
 * retry DELs it again. A DEL of a record whose ADD failed is best effort: its undo DEL already ran
 * when the ADD failed, and a config whose ADD fails often fails DEL the same way (a missing macvlan
 * master); holding unprepare on it would keep the pod Terminating forever.
 *
 * Holds every (claim, request) mutex of the claim (shared with the attacher), and re-reads the
 * ledger first and again under the locks: another instance may have attached since (rolling
 * update), and its attachments must be DELeted too.
 */
import { DriverError, errorCode, errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ClaimLedger } from '../state/claim-ledger.js'
import type { AttachmentRecord } from '../state/state-types.js'
import type { AttachMetrics } from './attach-events.js'
import { sameAllocation } from './attachment-plan.js'
import type { NetnsProbe } from './attach-netns-probe.js'
import { delAttachment, type AttachCni } from './attachment-cni.js'
import { replyLine } from './hook-server.js'
import type { RequestLocks } from './request-locks.js'

/** Options of {@link Detacher}. */
export interface DetacherOptions {
  readonly ledger: ClaimLedger
  readonly cni: Pick<AttachCni, 'del'>
  readonly probe: NetnsProbe
  /** The attacher's mutex: a detach never runs under an attach of the same request. */
  readonly locks: RequestLocks
  readonly logger: Logger
  readonly metrics?: Pick<AttachMetrics, 'observeDetach'>
  /** Monotonic milliseconds (latency) — injected for tests. */
  readonly nowMs?: () => number
}

/** Undoes a claim's attachments (the prepare service's and GC's `ClaimDetacher`). */
export class Detacher {
  readonly #o: DetacherOptions
  readonly #nowMs: () => number

  constructor(opts: DetacherOptions) {
    this.#o = opts
    this.#nowMs = opts.nowMs ?? (() => performance.now())
  }

  /**
   * DEL every recorded attachment of the claim, then forget their records. Unknown claim → nothing
   * to do. Throws when a DEL of an attached record failed; that record is kept for a retry.
   */
  async detachClaim(claimUid: string, signal?: AbortSignal): Promise<void> {
    const started = this.#nowMs()
    const claim = (await this.#o.ledger.refresh())[claimUid]
    if (!claim) return
    let count = 0
    try {
      await this.#o.locks.forRequests(
        claimUid,
        new Set(claim.plans.map(p => p.request)),
        async () => {
          count = await this.#detachLocked(claimUid, signal)
        },
      )
      this.#observe('OK', started, count)
    } catch (err: unknown) {
      this.#observe(errorCode(err), started, count)
      throw err
    }
  }

  async #detachLocked(claimUid: string, signal?: AbortSignal): Promise<number> {
    const claim = (await this.#o.ledger.refresh())[claimUid]
    if (!claim) return 0
    const log = this.#o.logger.child({
      claimUID: claimUid,
      namespace: claim.namespace,
      name: claim.name,
    })
    const order = (a: AttachmentRecord): number => claim.plans.findIndex(p => sameAllocation(p, a))
    const ordered = [...claim.attachments].sort((a, b) => order(b) - order(a))
    const failures: unknown[] = []
    const done: AttachmentRecord[] = []
    for (const a of ordered) {
      const plan = claim.plans[order(a)]
      try {
        if (plan) await delAttachment(this.#o, claimUid, plan, a, signal)
        else
          log.warn(
            { request: a.request, device: a.device },
            'attachment without a plan; dropping its record',
          )
        done.push(a)
      } catch (err: unknown) {
        if (a.phase === 'failed') {
          log.warn(
            { sandboxId: a.sandboxId, ifName: a.ifName, err: errorMessage(err) },
            'best-effort DEL of a failed attachment failed; dropping its record',
          )
          done.push(a)
          continue
        }
        log.error(
          { sandboxId: a.sandboxId, ifName: a.ifName, err: errorMessage(err) },
          'DEL failed',
        )
        failures.push(err)
      }
    }
    await this.#o.ledger.detached(claimUid, done)
    log.info({ detached: done.length, failed: failures.length }, 'claim detached')
    if (failures.length > 0) {
      const first = failures[0]
      throw new DriverError(
        errorCode(first),
        `detaching claim ${claimUid}: ${failures.map(f => replyLine(errorMessage(f))).join('; ')}`,
        { cause: first },
      )
    }
    return done.length
  }

  #observe(code: ReturnType<typeof errorCode> | 'OK', started: number, attachments: number): void {
    this.#o.metrics?.observeDetach({
      code,
      seconds: Math.max(0, this.#nowMs() - started) / 1000,
      attachments,
    })
  }
}
