/**
 * The attach logic between the hook server and the CNI runtime (ARCHITECTURE steps 5, 7, 8).
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
 * ADD runs with container id = sandbox id. A failed ADD is undone with DEL and recorded as failed.
 * An ADD that fails because its interface already exists (EEXIST, "file exists") met the leftover
 * of an ADD whose instance was killed before recording it: after the undo DEL it is retried once.
 * A successful one is written to the state store BEFORE the reply (so unprepare always finds what
 * to DEL), then the observer (claim status, Events) is notified without delaying the reply.
 *
 * detachClaim — unprepare: DEL every recorded attachment in reverse plan order (CniRuntime.del
 * feeds the cached result as prevResult), tolerating a vanished netns, then drop the records.
 *
 * garbageCollect — recovery: detach claims that are no longer valid, DEL result-cache entries made
 * by this driver (marked with the `NDRA_CLAIM_UID` CNI arg, on a network whose name the driver
 * derived: `ndra.…`) for claims the store no longer knows, and run CNI GC for the `ndra.…` networks
 * of the remaining claims. Nothing of another network is ever touched: the cache directory is
 * shared with the container runtime, and a legacy record naming `cbr0` must not GC the cluster's
 * pod network.
 *
 * Operations on one (claim, request) are serialised with a keyed mutex; different claims run in
 * parallel. During a rolling update two instances share the state file: the new one serves the hook
 * socket while the old one may still have prepared claims a moment ago, so every attach, detach and
 * GC re-reads the state (`refresh`) before it looks at a record.
 */
import { DriverError, errorCode, errorMessage, type ErrorCode } from '../errors.js'
import type { Logger } from '../logger.js'
import { parseConfList, type NetworkConfigList } from '../cni/conf.js'
import type { CniResult, RuntimeConf, ValidAttachment } from '../cni/runtime.js'
import { networkDataFromResult } from '../cni/result.js'
import type {
  AttachmentRecord,
  ClaimRecord,
  PluginState,
  PodIdentity,
} from '../state/state-types.js'
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
import { KeyedLock } from '../util/keyed-lock.js'
import { isDriverNetworkName } from '../claims/network-name.js'

/** CNI_ARGS key that marks an attachment as ours in the libcni result cache (for GC). */
export const CLAIM_UID_CNI_ARG = 'NDRA_CLAIM_UID'

/** The part of the state store the attacher uses (StateStore satisfies it). */
export interface AttachStore {
  claim(uid: string): ClaimRecord | undefined
  snapshot(): PluginState
  /** Re-read what another plugin instance may have written (rolling-update overlap). */
  refresh(): Promise<PluginState>
  update<T>(fn: (claims: Record<string, ClaimRecord>) => T): Promise<T>
}

/** A libcni result-cache entry, as much of it as GC needs. */
export interface AttachCacheEntry {
  readonly containerId: string
  readonly ifName: string
  readonly networkName: string
  readonly netns?: string
  readonly cniArgs?: readonly (readonly [string, string])[]
  readonly capabilityArgs?: Readonly<Record<string, unknown>>
  /** Original conflist bytes. */
  readonly config: Uint8Array
}

/** The part of the CNI runtime the attacher uses (CniRuntime satisfies it). */
export interface AttachCni {
  add(list: NetworkConfigList, rt: RuntimeConf, opts?: { signal?: AbortSignal }): Promise<CniResult>
  del(list: NetworkConfigList, rt: RuntimeConf, opts?: { signal?: AbortSignal }): Promise<void>
  gc(
    list: NetworkConfigList,
    valid: readonly ValidAttachment[],
    opts?: { signal?: AbortSignal },
  ): Promise<void>
  cachedAttachments(containerId?: string): Promise<readonly AttachCacheEntry[]>
}

/** Resolves OCI state to a pod and netns (PodResolver satisfies it). */
export interface AttachPodResolver {
  resolve(state: OciState): Promise<ResolvedPod>
}

/** Common fields of attach events. */
export interface AttachEventBase {
  readonly claimUid: string
  readonly claimNamespace: string
  readonly claimName: string
  readonly request: string
  readonly device: string
}

/** A fresh CNI ADD succeeded and is recorded. */
export interface AttachedEvent extends AttachEventBase {
  readonly pod: PodIdentity
  readonly ifName: string
  readonly result: CniResult
  readonly interfaceName: string
  readonly ips: readonly string[]
  readonly hardwareAddress?: string
}

/** An attach failed or was refused; `pod` is absent when the pod could not be resolved. */
export interface AttachFailedEvent extends AttachEventBase {
  readonly pod?: PodIdentity
  readonly code: ErrorCode
  readonly message: string
}

/**
 * Told about attach outcomes after the reply is decided; the claim-status writer and the Event
 * recorder plug in here. Called fire-and-forget: a slow or failing observer never holds the hook.
 */
export interface AttachObserver {
  onAttached(event: AttachedEvent): void | Promise<void>
  onAttachFailed(event: AttachFailedEvent): void | Promise<void>
}

/**
 * Rewrites the claim's KEP-5304 metadata files from its record. Awaited before the reply: runc
 * starts the container right after the hook, and the app must find its addresses already there.
 */
export interface AttachMetadataSync {
  sync(record: ClaimRecord): Promise<void>
}

/** What happened on an attach call. */
export type AttachOutcome = 'added' | 'reused' | 'replaced' | 'failed'

/** Metrics seam; the daemon wires prom-client (latency histogram + counter by code). */
export interface AttachMetrics {
  observeAttach(o: { outcome: AttachOutcome; code: ErrorCode | 'OK'; seconds: number }): void
  observeDetach(o: { code: ErrorCode | 'OK'; seconds: number; attachments: number }): void
}

/** Options of {@link Attacher}. */
export interface AttacherOptions {
  store: AttachStore
  cni: AttachCni
  resolver: AttachPodResolver
  probe: NetnsProbe
  logger: Logger
  observer?: AttachObserver
  /** KEP-5304 metadata files; absent when the feature is off. */
  metadata?: AttachMetadataSync
  metrics?: AttachMetrics
  /** Monotonic milliseconds (latency) — injected for tests. */
  nowMs?: () => number
  /** Wall clock for record timestamps. */
  now?: () => Date
}

/** Summary of a garbage-collection pass. */
export interface GarbageCollectReport {
  readonly detachedClaims: readonly string[]
  readonly deletedCacheEntries: readonly string[]
  readonly errors: readonly string[]
}

interface Attached {
  readonly outcome: AttachOutcome
  readonly record: AttachmentRecord
}

/** Idempotent attach/detach of claim networks; implements the hook server's AttachHandler. */
export class Attacher implements AttachHandler {
  readonly #store: AttachStore
  readonly #cni: AttachCni
  readonly #resolver: AttachPodResolver
  readonly #probe: NetnsProbe
  readonly #log: Logger
  readonly #observer: AttachObserver | undefined
  readonly #metadata: AttachMetadataSync | undefined
  readonly #metrics: AttachMetrics | undefined
  readonly #nowMs: () => number
  readonly #now: () => Date
  readonly #locks = new KeyedLock()

  constructor(opts: AttacherOptions) {
    this.#store = opts.store
    this.#cni = opts.cni
    this.#resolver = opts.resolver
    this.#probe = opts.probe
    this.#log = opts.logger
    this.#observer = opts.observer
    this.#metadata = opts.metadata
    this.#metrics = opts.metrics
    this.#nowMs = opts.nowMs ?? (() => performance.now())
    this.#now = opts.now ?? (() => new Date())
  }

  /** Hook-server entry point: never throws; failures become `ok:false` with one line. */
  async attach(req: AttachRequest, signal: AbortSignal): Promise<AttachReply> {
    const started = this.#nowMs()
    const ctx: { pod?: PodIdentity } = {}
    try {
      const done = await this.#locks.exclusive(mutexKey(req.claimUid, req.request), () =>
        this.#attachLocked(req, signal, ctx),
      )
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
      const claim = this.#store.claim(req.claimUid)
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
    await this.#store.refresh()
    const { claim, plan } = this.#findPlan(req.claimUid, req.request, req.device)
    const pod = await this.#resolver.resolve(req.state)
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
      if (!samePod && (await this.#netnsLive(existing))) {
        throw new DriverError(
          'NDRA_CLAIM_IN_USE',
          `claim ${claim.namespace}/${claim.name} (${claim.uid}) is attached to pod ${describePod(existing)}, which is still running; a network claim serves one pod`,
        )
      }
      log.info(
        { oldSandboxId: existing.sandboxId, samePod },
        'claim attached to an older sandbox; detaching it first',
      )
      await this.#delAttachment(plan, existing, claim.uid)
      await this.#store.update(claims => {
        const c = claims[claim.uid]
        if (c) claims[claim.uid] = withoutAttachment(c, existing)
      })
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
    const result = await this.#addOrUndo(claim.uid, list, rt, plan, pod, signal, log)
    const record: AttachmentRecord = {
      ...attachmentBase(plan, pod, list.name),
      phase: 'attached',
      result,
      updatedAt: this.#now().toISOString(),
    }
    let stored: boolean
    try {
      stored = await this.#store.update(claims => {
        const c = claims[claim.uid]
        if (!c) return false
        const rest = withoutAttachment(c, record)
        claims[claim.uid] = { ...rest, attachments: [...rest.attachments, record] }
        return true
      })
    } catch (err: unknown) {
      log.error({ err: errorMessage(err) }, 'cannot record the attachment; undoing the ADD')
      await this.#undo(list, rt, log)
      throw err
    }
    if (!stored) {
      await this.#undo(list, rt, log)
      throw new DriverError(
        'NDRA_CLAIM_NOT_PREPARED',
        `claim ${claim.uid} was unprepared while its network was being attached`,
      )
    }
    log.info({ ifName: plan.ifName, netns: pod.netns }, 'attached')
    await this.#syncMetadata(claim.uid, log)
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
    const record: AttachmentRecord = {
      ...attachmentBase(plan, pod, networkName),
      phase: 'failed',
      error: replyLine(errorMessage(err)),
      updatedAt: this.#now().toISOString(),
    }
    try {
      await this.#store.update(claims => {
        const c = claims[claimUid]
        if (c) {
          const rest = withoutAttachment(c, record)
          claims[claimUid] = { ...rest, attachments: [...rest.attachments, record] }
        }
      })
    } catch (storeErr: unknown) {
      log.error({ err: errorMessage(storeErr) }, 'cannot record the attach failure')
    }
    await this.#syncMetadata(claimUid, log)
  }

  /**
   * Rewrite the metadata files from the stored record. A failure is logged, not thrown: the
   * interface is up and the claim status still tells the truth; the file keeps its last content.
   */
  async #syncMetadata(claimUid: string, log: Logger): Promise<void> {
    const record = this.#metadata ? this.#store.claim(claimUid) : undefined
    if (!this.#metadata || !record) return
    try {
      await this.#metadata.sync(record)
    } catch (err: unknown) {
      log.warn({ err: errorMessage(err) }, 'could not rewrite the device metadata file')
    }
  }

  /**
   * Unprepare: DEL every recorded attachment of the claim (reverse plan order), then drop the
   * attachment records. Unknown claim → nothing to do. Throws when a DEL of an attached record
   * failed; those records are kept so a retry DELs them again. A DEL of a record whose ADD failed
   * is best effort (its undo DEL ran at failure time).
   */
  async detachClaim(claimUid: string, signal?: AbortSignal): Promise<void> {
    const started = this.#nowMs()
    await this.#store.refresh()
    const claim = this.#store.claim(claimUid)
    if (!claim) return
    const keys = [...new Set(claim.plans.map(p => mutexKey(claimUid, p.request)))]
    let count = 0
    try {
      await this.#locks.exclusiveAll(keys, async () => {
        count = await this.#detachLocked(claimUid, signal)
      })
      this.#metrics?.observeDetach({
        code: 'OK',
        seconds: this.#elapsed(started),
        attachments: count,
      })
    } catch (err: unknown) {
      this.#metrics?.observeDetach({
        code: errorCode(err),
        seconds: this.#elapsed(started),
        attachments: count,
      })
      throw err
    }
  }

  async #detachLocked(claimUid: string, signal?: AbortSignal): Promise<number> {
    await this.#store.refresh()
    const claim = this.#store.claim(claimUid)
    if (!claim) return 0
    const log = this.#log.child({
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
        if (plan) await this.#delAttachment(plan, a, claimUid, signal)
        else
          log.warn(
            { request: a.request, device: a.device },
            'attachment without a plan; dropping its record',
          )
        done.push(a)
      } catch (err: unknown) {
        if (a.phase === 'failed') {
          // The ADD never succeeded and its undo DEL already ran when it failed; a config whose ADD
          // fails often fails DEL the same way (e.g. a missing macvlan master). Holding unprepare on
          // it would keep the pod Terminating forever, so this DEL is best effort.
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
    if (done.length > 0) {
      await this.#store.update(claims => {
        const c = claims[claimUid]
        if (!c) return
        claims[claimUid] = {
          ...c,
          attachments: c.attachments.filter(x => !done.some(d => sameAttachment(d, x))),
        }
      })
    }
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

  /** DEL one recorded attachment; the netns is passed only while it is still the same namespace. */
  async #delAttachment(
    plan: AttachmentPlan,
    a: AttachmentRecord,
    claimUid: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const list = parseConfList(plan.networkConfig)
    const netns = (await this.#netnsLive(a)) ? a.netns : ''
    await this.#cni.del(list, runtimeConf(claimUid, plan, a, netns), signal ? { signal } : {})
  }

  /** True when the recorded netns path still is the namespace the attachment was made in. */
  async #netnsLive(a: AttachmentRecord): Promise<boolean> {
    const id = await this.#probe.identify(a.netns)
    if (id === undefined) return false
    return a.netnsId === undefined || a.netnsId === id
  }

  /**
   * Recovery: detach every stored claim not in `validClaimUids` (with the config its record holds,
   * whatever its network's name), DEL result-cache entries this driver made on `ndra.…` networks
   * for claims the store does not know any more (an ADD whose record never got written, or a state
   * file lost), then run CNI GC for the `ndra.…` networks of the valid claims with every other
   * cache entry as the valid set. Entries and networks of other CNI users are never touched. The caller
   * decides what to do with the claim records themselves (drop them, remove CDI specs).
   *
   * Safe while another plugin instance works on the same node (rolling-update overlap): the cache
   * is listed BEFORE the state is re-read, and a claim is recorded before its first ADD, so an
   * entry whose claim is absent from that later read really is an orphan; a claim that appeared
   * since `validClaimUids` was computed was prepared by the other instance and is kept; and an
   * entry not (yet) recorded for a known claim whose network namespace is still live is left to
   * the attach that made it (it is being recorded right now, or that attach failed and its own
   * undo DEL / the kubelet's retry cleans it).
   */
  async garbageCollect(
    validClaimUids: Iterable<string>,
    opts: { readonly cniGc?: boolean } = {},
  ): Promise<GarbageCollectReport> {
    const valid = new Set(validClaimUids)
    const detachedClaims: string[] = []
    const deletedCacheEntries: string[] = []
    const errors: string[] = []
    const known = (await this.#store.refresh()).claims
    for (const uid of Object.keys(known)) {
      if (valid.has(uid)) continue
      try {
        await this.detachClaim(uid)
        detachedClaims.push(uid)
      } catch (err: unknown) {
        errors.push(replyLine(errorMessage(err)))
      }
    }
    const entries = await this.#cni.cachedAttachments()
    const stillKnown = (await this.#store.refresh()).claims
    const keep = (uid: string): boolean =>
      stillKnown[uid] !== undefined && (valid.has(uid) || known[uid] === undefined)
    const orphans: AttachCacheEntry[] = []
    for (const e of entries) {
      if (!isDriverNetworkName(e.networkName)) continue
      const uid = e.cniArgs?.find(([k]) => k === CLAIM_UID_CNI_ARG)?.[1]
      if (uid === undefined) continue
      const owner = stillKnown[uid]
      const recorded = owner?.attachments.some(
        a => a.phase === 'attached' && a.sandboxId === e.containerId && a.ifName === e.ifName,
      )
      if (keep(uid) && recorded === true) continue
      if (
        keep(uid) &&
        e.netns !== undefined &&
        e.netns !== '' &&
        (await this.#probe.identify(e.netns)) !== undefined
      ) {
        this.#log.info(
          { claimUID: uid, sandboxId: e.containerId, ifName: e.ifName },
          'cache entry not recorded yet and its namespace is live; left to its attach',
        )
        continue
      }
      orphans.push(e)
    }
    for (const e of orphans) {
      const name = `${e.networkName}-${e.containerId}-${e.ifName}`
      try {
        const list = parseConfList(e.config)
        const id = e.netns ? await this.#probe.identify(e.netns) : undefined
        await this.#cni.del(list, {
          containerId: e.containerId,
          netns: id !== undefined && e.netns !== undefined ? e.netns : '',
          ifName: e.ifName,
          args: e.cniArgs ?? [],
          capabilityArgs: e.capabilityArgs ?? {},
        })
        deletedCacheEntries.push(name)
      } catch (err: unknown) {
        errors.push(`${name}: ${replyLine(errorMessage(err))}`)
      }
    }
    const remaining = entries.filter(e => !orphans.includes(e))
    const seen = new Set<string>()
    // CNI GC lists the cache again and DELs whatever is not in `remaining`: an ADD another
    // instance makes meanwhile would be undone, so the caller turns it off while one is live.
    const gcUids = opts.cniGc === false ? [] : Object.keys(stillKnown).filter(keep)
    for (const uid of gcUids) {
      for (const plan of stillKnown[uid]?.plans ?? []) {
        const key = JSON.stringify(plan.networkConfig)
        if (seen.has(key)) continue
        seen.add(key)
        try {
          const list = parseConfList(plan.networkConfig)
          // A record written before names were derived may name any network (even `cbr0`).
          if (!isDriverNetworkName(list.name)) continue
          const validSet = remaining
            .filter(e => e.networkName === list.name)
            .map(e => ({ containerId: e.containerId, ifName: e.ifName }))
          await this.#cni.gc(list, validSet)
        } catch (err: unknown) {
          errors.push(replyLine(errorMessage(err)))
        }
      }
    }
    this.#log.info(
      {
        detachedClaims: detachedClaims.length,
        deletedCacheEntries: deletedCacheEntries.length,
        errors: errors.length,
      },
      'attachment garbage collection done',
    )
    return { detachedClaims, deletedCacheEntries, errors }
  }

  #findPlan(
    claimUid: string,
    request: string,
    device: string,
  ): { claim: ClaimRecord; plan: AttachmentPlan } {
    const claim = this.#store.claim(claimUid)
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
    const observer = this.#observer
    if (!observer) return
    const fail = (err: unknown): void => {
      this.#log.error(
        { claimUID: event.claimUid, err: errorMessage(err) },
        `attach observer ${method} failed`,
      )
    }
    try {
      const call = observer[method] as (e: typeof event) => void | Promise<void>
      const p = call.call(observer, event)
      if (p instanceof Promise) p.catch(fail)
    } catch (err: unknown) {
      fail(err)
    }
  }

  #observeAttach(outcome: AttachOutcome, code: ErrorCode | 'OK', started: number): void {
    this.#metrics?.observeAttach({ outcome, code, seconds: this.#elapsed(started) })
  }

  #elapsed(started: number): number {
    return Math.max(0, this.#nowMs() - started) / 1000
  }
}

/** CNI runtime config for (claim, plan, sandbox): CRI-style CNI_ARGS, then the plan's own. */
export function runtimeConf(
  claimUid: string,
  plan: AttachmentPlan,
  pod: PodIdentity,
  netns: string,
): RuntimeConf {
  const args: [string, string][] = [['IgnoreUnknown', '1']]
  const k8s: [string, string][] = [
    ['K8S_POD_NAMESPACE', pod.podNamespace],
    ['K8S_POD_NAME', pod.podName],
    ['K8S_POD_INFRA_CONTAINER_ID', pod.sandboxId],
    ['K8S_POD_UID', pod.podUid],
  ]
  for (const pair of k8s) if (pair[1] !== '') args.push(pair)
  args.push([CLAIM_UID_CNI_ARG, claimUid])
  for (const [k, v] of plan.cniArgs) args.push([k, v])
  return {
    containerId: pod.sandboxId,
    netns,
    ifName: plan.ifName,
    args,
    capabilityArgs: plan.capabilityArgs,
  }
}

function mutexKey(claimUid: string, request: string): string {
  return `${claimUid}/${request}`
}

/** The pod a record or resolution belongs to; sandbox id stands in when there is no pod uid. */
function podKey(p: PodIdentity): string {
  return p.podUid !== '' ? `uid:${p.podUid}` : `sandbox:${p.sandboxId}`
}

/** The fields an attachment record takes from its plan and pod, whatever its phase. */
function attachmentBase(plan: AttachmentPlan, pod: ResolvedPod, networkName: string) {
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

function sameAttachment(a: AttachmentRecord, b: AttachmentRecord): boolean {
  return sameAllocation(a, b) && a.sandboxId === b.sandboxId
}

function withoutAttachment(
  c: ClaimRecord,
  r: Pick<AttachmentRecord, 'request' | 'device' | 'shareID'>,
): ClaimRecord {
  return {
    ...c,
    attachments: c.attachments.filter(a => !sameAllocation(a, r)),
  }
}

/** True for a plugin error saying the object it creates already exists (Go's EEXIST text). */
function leftoverOfUnrecordedAdd(err: unknown): boolean {
  return /\bfile exists\b|\balready exists\b/i.test(errorMessage(err))
}
