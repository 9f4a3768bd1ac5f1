/**
 * The attach logic between the hook server and the CNI runtime (ARCHITECTURE steps 5 and 6).
 * Detach is detacher.ts, recovery GC attachment-gc.ts.
 *
 * attach — called for every container that references a claim, and again on every restart, so it
 * is idempotent per (claim UID, request, device, sandbox id):
 * - already attached to this sandbox → the recorded result; no CNI call;
 * - attached to an older sandbox of the same pod (sandbox re-created) → DEL the old one, ADD anew;
 * - attached to another pod whose network namespace is still live → refuse (NDRA_CLAIM_IN_USE):
 *   a network claim serves one pod. "Live" = the recorded netns path still is a network namespace
 *   with the recorded identity (dev:inode). A vanished or recycled path means the old pod is gone;
 *   its attachment is DELeted and the new pod gets the network. A pid path reused by an unrelated
 *   process has another namespace identity, so it is not mistaken for the old pod;
 * - claim not prepared → NDRA_CLAIM_NOT_PREPARED.
 * ADD runs with container id = sandbox id. A failed ADD is undone with DEL and recorded
 * `attachFailed`. An ADD that fails because its interface already exists (EEXIST, "file exists")
 * met the leftover of an ADD whose instance was killed before recording it: after the undo DEL it
 * is retried once. A successful one is recorded `attached` BEFORE the reply (so unprepare always
 * finds what to DEL; a claim unprepared meanwhile gets its ADD undone), then the observer (claim
 * status, Events) is notified without delaying the reply. With KEP-5304 device metadata on, the
 * claim's metadata files are rewritten from the ledger's record after every recorded outcome and
 * before the reply (runc starts the container right after the hook).
 *
 * Operations on one (claim, request) are serialised with the keyed mutex shared with the detacher
 * (RequestLocks); different claims run in parallel. During a rolling update two instances share the
 * state file: the new one serves the hook socket while the old one may still have prepared claims
 * a moment ago, so every attach re-reads the ledger (`refresh`) before it looks at a record.
 */
import { DriverError, errorCode, errorMessage, type ErrorCode } from '../errors.js'
import type { Logger } from '../logger.js'
import { parseConfList, type NetworkConfigList } from '../cni/conf.js'
import type { CniResult, RuntimeConf } from '../cni/runtime.js'
import { networkDataFromResult } from '../cni/result.js'
import type { AttachmentTarget, ClaimLedger } from '../state/claim-ledger.js'
import type { AttachmentRecord, ClaimRecord, PodIdentity } from '../state/state-types.js'
import { allocationKey, sameAllocation, type AttachmentPlan } from './attachment-plan.js'
import {
  replyLine,
  type AttachHandler,
  type AttachReply,
  type AttachRequest,
  type OciState,
} from './hook-server.js'
import type { NetnsProbe } from './attach-netns-probe.js'
import type { ResolvedPod } from './pod-resolver.js'
import {
  notifyObserver,
  type AttachMetrics,
  type AttachStep,
  type AttachObserver,
  type AttachOutcome,
} from './attach-events.js'
import { delAttachment, netnsLive, runtimeConf, type AttachCni } from './attachment-cni.js'
import type { RequestLocks } from './request-locks.js'
import { timed } from '../util/timed.js'

/** Resolves OCI state to a pod and netns (PodResolver satisfies it). */
export interface AttachPodResolver {
  resolve(state: OciState): Promise<ResolvedPod>
}

/**
 * Rewrites the claim's KEP-5304 metadata files from its record. Awaited before the reply: runc
 * starts the container right after the hook, and the app must find its addresses already there.
 */
export interface AttachMetadataSync {
  sync(record: ClaimRecord): Promise<void>
}

/** Options of {@link Attacher}. */
export interface AttacherOptions {
  /** The claim records; re-read before every attach. */
  ledger: ClaimLedger
  cni: Pick<AttachCni, 'add' | 'del'>
  resolver: AttachPodResolver
  probe: NetnsProbe
  /** The keyed mutex shared with the detacher. */
  locks: RequestLocks
  logger: Logger
  observer?: AttachObserver
  /** KEP-5304 metadata files; absent when the feature is off. */
  metadata?: AttachMetadataSync
  metrics?: Pick<AttachMetrics, 'observeAttach' | 'observeAttachStep'>
  /** Monotonic milliseconds (latency) — injected for tests. */
  nowMs?: () => number
}

interface Attached {
  readonly outcome: AttachOutcome
  readonly record: AttachmentRecord
}

/** Idempotent attach of claim networks; implements the hook server's AttachHandler. */
export class Attacher implements AttachHandler {
  readonly #ledger: ClaimLedger
  readonly #cni: Pick<AttachCni, 'add' | 'del'>
  readonly #resolver: AttachPodResolver
  readonly #probe: NetnsProbe
  readonly #log: Logger
  readonly #observer: AttachObserver | undefined
  readonly #metadata: AttachMetadataSync | undefined
  readonly #metrics: Pick<AttachMetrics, 'observeAttach' | 'observeAttachStep'> | undefined
  readonly #nowMs: () => number
  readonly #locks: RequestLocks

  constructor(opts: AttacherOptions) {
    this.#ledger = opts.ledger
    this.#cni = opts.cni
    this.#resolver = opts.resolver
    this.#probe = opts.probe
    this.#log = opts.logger
    this.#observer = opts.observer
    this.#metadata = opts.metadata
    this.#metrics = opts.metrics
    this.#locks = opts.locks
    this.#nowMs = opts.nowMs ?? (() => performance.now())
  }

  /** Hook-server entry point: never throws; failures become `ok:false` with one line. */
  async attach(req: AttachRequest, signal: AbortSignal): Promise<AttachReply> {
    const started = this.#nowMs()
    const ctx: { pod?: PodIdentity } = {}
    try {
      const done = await this.#locks.forRequest(req.claimUid, req.request, () => {
        this.#observeStep('lock', started)
        return this.#attachLocked(req, signal, ctx)
      })
      this.#observeAttach(done.outcome, 'OK', started)
      const r = done.record
      const data = networkDataFromResult(r.result ?? {}, r.ifName)
      const verb = done.outcome === 'reused' ? 'already attached' : 'attached'
      return {
        ok: true,
        message:
          `${verb}: ${data.interfaceName} ${data.ips.join(',')} in sandbox ${r.sandboxId}`.trim(),
        interfaceName: data.interfaceName,
        ips: [...data.ips],
        ...(data.hardwareAddress !== undefined ? { mac: data.hardwareAddress } : {}),
      }
    } catch (err: unknown) {
      const code = errorCode(err)
      const message = replyLine(errorMessage(err))
      this.#observeAttach('failed', code, started)
      this.#log.warn(
        { claimUID: req.claimUid, request: req.request, device: req.device, code, err: message },
        'attach failed',
      )
      const claim = this.#ledger.claim(req.claimUid)
      this.#notify('onAttachFailed', {
        claimUid: req.claimUid,
        claimNamespace: claim?.namespace ?? '',
        claimName: claim?.name ?? '',
        request: req.request,
        device: req.device,
        ...(ctx.pod ? { pod: ctx.pod } : {}),
        code,
        message,
      })
      return { ok: false, message: `${message} [${code}]` }
    }
  }

  async #attachLocked(
    req: AttachRequest,
    signal: AbortSignal,
    ctx: { pod?: PodIdentity },
  ): Promise<Attached> {
    await this.#timed('refresh', () => this.#ledger.refresh())
    const { claim, plan } = this.#findPlan(req.claimUid, req.request, req.device)
    const pod = await this.#timed('resolve', () => this.#resolver.resolve(req.state))
    ctx.pod = podIdentity(pod)
    const log = this.#log.child({
      claimUID: claim.uid,
      request: plan.request,
      device: plan.device,
      podUID: pod.podUid,
      namespace: pod.podNamespace,
      name: pod.podName,
      sandboxId: pod.sandboxId,
    })
    const existing = claim.attachments.find(a => sameAllocation(a, plan))
    let outcome: AttachOutcome = 'added'
    if (existing?.phase === 'attached') {
      if (existing.sandboxId === pod.sandboxId) {
        log.debug('already attached to this sandbox; returning the recorded result')
        return { outcome: 'reused', record: existing }
      }
      const samePod = podKey(existing) === podKey(pod)
      if (!samePod && (await netnsLive(this.#probe, existing))) {
        throw new DriverError(
          'NDRA_CLAIM_IN_USE',
          `claim ${claim.namespace}/${claim.name} (${claim.uid}) is attached to pod ${describePod(existing)}, which is still running; a network claim serves one pod`,
        )
      }
      log.info(
        { oldSandboxId: existing.sandboxId, samePod },
        'claim attached to an older sandbox; detaching it first',
      )
      await delAttachment({ cni: this.#cni, probe: this.#probe }, claim.uid, plan, existing)
      await this.#ledger.detached(claim.uid, [existing])
      outcome = 'replaced'
    }
    const record = await this.#add(claim, plan, pod, signal, log)
    return { outcome, record }
  }

  async #add(
    claim: ClaimRecord,
    plan: AttachmentPlan,
    pod: ResolvedPod,
    signal: AbortSignal,
    log: Logger,
  ): Promise<AttachmentRecord> {
    const list = parseConfList(plan.networkConfig)
    const rt = runtimeConf(claim.uid, plan, pod, pod.netns)
    const result = await this.#timed('cni_add', () =>
      this.#addOrUndo(claim.uid, list, rt, plan, pod, signal, log),
    )
    let record: AttachmentRecord | undefined
    try {
      record = await this.#timed('record', () =>
        this.#ledger.attached(claim.uid, attachmentTarget(plan, pod, list.name), result),
      )
    } catch (err: unknown) {
      log.error({ err: errorMessage(err) }, 'cannot record the attachment; undoing the ADD')
      await this.#undo(list, rt, log)
      throw err
    }
    if (record === undefined) {
      await this.#undo(list, rt, log)
      throw new DriverError(
        'NDRA_CLAIM_NOT_PREPARED',
        `claim ${claim.uid} was unprepared while its network was being attached`,
      )
    }
    log.info({ ifName: plan.ifName, netns: pod.netns }, 'attached')
    if (this.#metadata) await this.#timed('metadata', () => this.#syncMetadata(claim.uid, log))
    const data = networkDataFromResult(result, plan.ifName)
    this.#notify('onAttached', {
      claimUid: claim.uid,
      claimNamespace: claim.namespace,
      claimName: claim.name,
      request: plan.request,
      device: plan.device,
      pod: podIdentity(pod),
      ifName: plan.ifName,
      result,
      interfaceName: data.interfaceName,
      ips: data.ips,
      ...(data.hardwareAddress !== undefined ? { hardwareAddress: data.hardwareAddress } : {}),
    })
    return record
  }

  /**
   * CNI ADD; a failure is undone with DEL and recorded. A failure saying the interface already exists
   * met the leftover of an ADD that a killed instance finished but never recorded: the undo DEL
   * removed it, so the ADD is retried once (what the kubelet's next create would do, minus a failed
   * container and its Warning event).
   */
  async #addOrUndo(
    claimUid: string,
    list: NetworkConfigList,
    rt: RuntimeConf,
    plan: AttachmentPlan,
    pod: ResolvedPod,
    signal: AbortSignal,
    log: Logger,
  ): Promise<CniResult> {
    let err: unknown
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        return await this.#addOnce(list, rt, plan, signal)
      } catch (e: unknown) {
        err = e
        await this.#undo(list, rt, log)
        if (attempt === 2 || signal.aborted || !leftoverOfUnrecordedAdd(e)) break
        log.info(
          { err: errorMessage(e) },
          'CNI ADD met a leftover of an unrecorded ADD; retrying once',
        )
      }
    }
    log.warn({ err: errorMessage(err) }, 'CNI ADD failed; its partial work was undone with DEL')
    await this.#recordFailure(claimUid, plan, pod, list.name, err, log)
    throw err
  }

  async #addOnce(
    list: NetworkConfigList,
    rt: RuntimeConf,
    plan: AttachmentPlan,
    signal: AbortSignal,
  ): Promise<CniResult> {
    const result = await this.#cni.add(list, rt, { signal })
    networkDataFromResult(result, plan.ifName)
    return result
  }

  async #undo(list: NetworkConfigList, rt: RuntimeConf, log: Logger): Promise<void> {
    try {
      // No signal: the hook may have gone away, but the partial work must still be undone.
      await this.#cni.del(list, rt)
    } catch (err: unknown) {
      log.error({ err: errorMessage(err) }, 'DEL after a failed ADD failed too')
    }
  }

  async #recordFailure(
    claimUid: string,
    plan: AttachmentPlan,
    pod: ResolvedPod,
    networkName: string,
    err: unknown,
    log: Logger,
  ): Promise<void> {
    try {
      await this.#ledger.attachFailed(
        claimUid,
        attachmentTarget(plan, pod, networkName),
        replyLine(errorMessage(err)),
      )
    } catch (storeErr: unknown) {
      log.error({ err: errorMessage(storeErr) }, 'cannot record the attach failure')
    }
    await this.#syncMetadata(claimUid, log)
  }

  /**
   * Rewrite the metadata files from the ledger's record. A failure is logged, not thrown: the
   * interface is up and the claim status still tells the truth; the file keeps its last content.
   */
  async #syncMetadata(claimUid: string, log: Logger): Promise<void> {
    const record = this.#metadata ? this.#ledger.claim(claimUid) : undefined
    if (!this.#metadata || !record) return
    try {
      await this.#metadata.sync(record)
    } catch (err: unknown) {
      log.warn({ err: errorMessage(err) }, 'could not rewrite the device metadata file')
    }
  }

  #findPlan(
    claimUid: string,
    request: string,
    device: string,
  ): { claim: ClaimRecord; plan: AttachmentPlan } {
    const claim = this.#ledger.claim(claimUid)
    if (!claim) {
      throw new DriverError(
        'NDRA_CLAIM_NOT_PREPARED',
        `claim ${claimUid} is not prepared on this node (no record in the plugin state)`,
      )
    }
    // `device` is the allocation key (attachment-plan.ts): the device, plus `.<shareID>` for a share.
    const plan = claim.plans.find(p => p.request === request && allocationKey(p) === device)
    if (!plan) {
      throw new DriverError(
        'NDRA_CLAIM_NOT_PREPARED',
        `claim ${claim.namespace}/${claim.name} has no prepared device ${device} for request ${request}`,
      )
    }
    return { claim, plan }
  }

  #notify<K extends keyof AttachObserver>(
    method: K,
    event: Parameters<AttachObserver[K]>[0],
  ): void {
    notifyObserver(this.#observer, this.#log, method, event)
  }

  #observeAttach(outcome: AttachOutcome, code: ErrorCode | 'OK', started: number): void {
    this.#metrics?.observeAttach({ outcome, code, seconds: this.#elapsed(started) })
  }

  /** Run one step and observe how long it took (also when it throws). */
  #timed<T>(step: AttachStep, fn: () => Promise<T>): Promise<T> {
    return timed(fn, seconds => this.#metrics?.observeAttachStep(step, seconds), this.#nowMs)
  }

  #observeStep(step: AttachStep, started: number): void {
    this.#metrics?.observeAttachStep(step, this.#elapsed(started))
  }

  #elapsed(started: number): number {
    return Math.max(0, this.#nowMs() - started) / 1000
  }
}

/** The pod a record or resolution belongs to; sandbox id stands in when there is no pod uid. */
function podKey(p: PodIdentity): string {
  return p.podUid !== '' ? `uid:${p.podUid}` : `sandbox:${p.sandboxId}`
}

/** The fields an attachment record takes from its plan and pod, whatever its phase. */
function attachmentTarget(
  plan: AttachmentPlan,
  pod: ResolvedPod,
  networkName: string,
): AttachmentTarget {
  return {
    ...podIdentity(pod),
    request: plan.request,
    device: plan.device,
    ...(plan.shareID !== undefined ? { shareID: plan.shareID } : {}),
    ifName: plan.ifName,
    netns: pod.netns,
    netnsId: pod.netnsId,
    networkName,
  }
}

function podIdentity(p: PodIdentity): PodIdentity {
  return {
    sandboxId: p.sandboxId,
    podUid: p.podUid,
    podName: p.podName,
    podNamespace: p.podNamespace,
  }
}

function describePod(p: PodIdentity): string {
  if (p.podName !== '')
    return `${p.podNamespace}/${p.podName} (uid ${p.podUid}, sandbox ${p.sandboxId})`
  return `sandbox ${p.sandboxId}`
}

/** True for a plugin error saying the object it creates already exists (Go's EEXIST text). */
function leftoverOfUnrecordedAdd(err: unknown): boolean {
  return /\bfile exists\b|\balready exists\b/i.test(errorMessage(err))
}
