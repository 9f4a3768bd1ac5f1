/**
 * What preparing a claim means for network-dra (ARCHITECTURE steps 2, 3 and 7): the slow path.
 *
 * Prepare, per claim: GET the claim, check it is still the claim the kubelet named (same UID) and
 * allocated to this driver on this node, compute the attachment plans (deterministic, no side
 * effects), record them in the claim ledger, write the claim's CDI spec, and return one device per
 * plan with its CDI id. A claim already recorded is answered from the record (its CDI spec is
 * re-written if missing) without reading the API again: prepare is idempotent.
 *
 * Unprepare, per claim: detach every recorded attachment (CNI DEL), remove the CDI spec, drop the
 * record. A claim never prepared, or whose object is gone, succeeds.
 *
 * Claims of one batch run concurrently up to a bound; the same claim UID is never prepared or
 * unprepared twice at once. Every claim of the request gets a result. Each call first re-reads the
 * ledger: during a rolling update another instance may have prepared or unprepared claims.
 */
import type { CdiDeviceRequest } from '../cdi/spec-writer.js'
import { podClaimNameOf } from '../metadata/device-metadata.js'
import { cdiDevicesOf, type ClaimMetadata } from './claim-metadata.js'
import { allocationKey, type AttachmentPlan } from '../attach/attachment-plan.js'
import type { KeyedLock } from '../util/keyed-lock.js'
import { timed } from '../util/timed.js'
import type { ResourceClaimV1 } from '../claims/resource-claim.js'
import { DriverError, errorCode, errorMessage } from '../errors.js'
import type {
  ClaimPreparer,
  ClaimRef,
  PrepareResult,
  PreparedDevice,
} from '../kubelet/claim-preparer.js'
import type { Logger } from '../logger.js'
import type { ClaimLedger } from '../state/claim-ledger.js'
import type { ClaimRecord } from '../state/state-types.js'

/** Reads a ResourceClaim from the API server. */
export interface ClaimReader {
  get(namespace: string, name: string, signal: AbortSignal): Promise<ResourceClaimV1>
}

/** Turns an allocated claim into attachment plans, or a message telling the user what to fix. */
export interface PlanSource {
  plans(
    claim: ResourceClaimV1,
    signal: AbortSignal,
  ): Promise<{ readonly plans: readonly AttachmentPlan[] } | { readonly error: string }>
}

/** The CDI operations prepare needs. */
export interface PrepareSpecs {
  deviceId(claimUid: string, device: string): string
  write(claimUid: string, devices: readonly CdiDeviceRequest[]): Promise<string[]>
  remove(claimUid: string): Promise<void>
  exists(claimUid: string): Promise<boolean>
}

/** Undoes a claim's attachments (CNI DEL); tolerant of vanished namespaces. */
export interface ClaimDetacher {
  detachClaim(claimUid: string, signal?: AbortSignal): Promise<void>
}

/** Observes outcomes, for metrics. */
/** The steps of preparing one claim, timed for the pod-start benchmark (see `onPhase`). */
export type PreparePhase = 'refresh' | 'claim_read' | 'plan' | 'record' | 'cdi_spec'

export interface PrepareObserver {
  onError(code: string): void
  onPreparedCount(count: number): void
  /** Seconds one step took: `refresh` per call, the others per newly prepared claim. */
  onPhase(phase: PreparePhase, seconds: number): void
}

export interface PrepareServiceOptions {
  readonly reader: ClaimReader
  readonly planner: PlanSource
  /** The claim records (prepared / dropped), re-read at the start of every call. */
  readonly ledger: ClaimLedger
  readonly specs: PrepareSpecs
  readonly detacher: ClaimDetacher
  readonly claimLocks: KeyedLock
  readonly concurrency: number
  readonly logger: Logger
  readonly observer?: PrepareObserver
  /** KEP-5304 metadata files; absent when the feature is off. */
  readonly metadata?: ClaimMetadata
}

/** Run `fn` over `items` with at most `limit` in flight. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

function devicesOf(record: ClaimRecord): PreparedDevice[] {
  return record.plans.map((plan, i) => ({
    requestNames: [plan.request],
    poolName: plan.pool,
    deviceName: plan.device,
    cdiDeviceIds: [record.cdiDeviceIds[i] ?? ''],
    ...(plan.shareID !== undefined ? { shareId: plan.shareID } : {}),
  }))
}

/** The driver's `ClaimPreparer`. */
export class PrepareService implements ClaimPreparer {
  readonly #o: PrepareServiceOptions

  constructor(opts: PrepareServiceOptions) {
    this.#o = opts
  }

  async prepare(
    claims: readonly ClaimRef[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, PrepareResult>> {
    // Another instance may have prepared or unprepared claims since our last read (rolling update).
    await this.#timed('refresh', () => this.#o.ledger.refresh())
    const results = await mapBounded(claims, this.#o.concurrency, async ref => {
      const result = await this.#o.claimLocks.exclusive(ref.uid, () =>
        this.#prepareOne(ref, signal),
      )
      return [ref.uid, result] as const
    })
    this.#countPrepared()
    return new Map(results)
  }

  async unprepare(
    claims: readonly ClaimRef[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, { readonly error?: string }>> {
    await this.#o.ledger.refresh()
    const results = await mapBounded(claims, this.#o.concurrency, async ref => {
      const result = await this.#o.claimLocks.exclusive(ref.uid, () =>
        this.#unprepareOne(ref, signal),
      )
      return [ref.uid, result] as const
    })
    this.#countPrepared()
    return new Map(results)
  }

  /** Run one step and tell the observer how long it took (also when it throws). */
  #timed<T>(phase: PreparePhase, step: () => Promise<T>): Promise<T> {
    return timed(step, seconds => this.#o.observer?.onPhase(phase, seconds))
  }

  #countPrepared(): void {
    this.#o.observer?.onPreparedCount(Object.keys(this.#o.ledger.claims()).length)
  }

  async #prepareOne(ref: ClaimRef, signal: AbortSignal): Promise<PrepareResult> {
    const log = this.#o.logger.child({
      claimUID: ref.uid,
      namespace: ref.namespace,
      name: ref.name,
    })
    try {
      signal.throwIfAborted()
      const existing = this.#o.ledger.claim(ref.uid)
      if (existing) {
        if (!(await this.#o.specs.exists(ref.uid))) {
          await this.#o.metadata?.prepare(existing)
          await this.#o.specs.write(ref.uid, cdiDevicesOf(existing, this.#o.metadata?.files))
          log.info('re-wrote missing CDI spec of a prepared claim')
        }
        log.debug('claim already prepared; answering from the state')
        return { devices: devicesOf(existing) }
      }
      const claim = await this.#timed('claim_read', () =>
        this.#o.reader.get(ref.namespace, ref.name, signal),
      )
      const uid = claim.metadata?.uid
      if (uid !== ref.uid) {
        throw new DriverError(
          'NDRA_CLAIM_NOT_FOUND',
          `ResourceClaim ${ref.namespace}/${ref.name} has UID ${uid ?? '(none)'}, not ${ref.uid}: it was deleted and re-created`,
        )
      }
      const planned = await this.#timed('plan', () => this.#o.planner.plans(claim, signal))
      if ('error' in planned) {
        this.#o.observer?.onError('NDRA_POLICY_VIOLATION')
        log.warn({ error: planned.error }, 'claim cannot be prepared')
        return { error: planned.error }
      }
      signal.throwIfAborted()
      const podClaimName = podClaimNameOf(claim.metadata?.annotations)
      // Record first, then the spec: after a crash in between, recovery finds the record and
      // re-writes the missing spec; a spec never exists without a record that owns it.
      const record = await this.#timed('record', () =>
        this.#o.ledger.prepared({
          uid: ref.uid,
          namespace: ref.namespace,
          name: ref.name,
          ...(podClaimName !== undefined ? { podClaimName } : {}),
          plans: planned.plans,
          // One CDI device per allocation: the device, plus `.<shareID>` for a share.
          cdiDeviceIds: planned.plans.map(p => this.#o.specs.deviceId(ref.uid, allocationKey(p))),
        }),
      )
      await this.#timed('cdi_spec', async () => {
        // The metadata file exists before the spec that mounts it.
        await this.#o.metadata?.prepare(record)
        await this.#o.specs.write(ref.uid, cdiDevicesOf(record, this.#o.metadata?.files))
      })
      log.info({ devices: planned.plans.map(p => p.device) }, 'claim prepared')
      return { devices: devicesOf(record) }
    } catch (err) {
      const code = errorCode(err)
      this.#o.observer?.onError(code)
      log.error({ err: errorMessage(err), code }, 'prepare failed')
      return { error: `network-dra: ${errorMessage(err)}` }
    }
  }

  async #unprepareOne(ref: ClaimRef, signal: AbortSignal): Promise<{ readonly error?: string }> {
    const log = this.#o.logger.child({
      claimUID: ref.uid,
      namespace: ref.namespace,
      name: ref.name,
    })
    try {
      const known = this.#o.ledger.claim(ref.uid)
      if (known) {
        await this.#o.detacher.detachClaim(ref.uid, signal)
      }
      await this.#o.specs.remove(ref.uid)
      // The files are keyed by namespace/name: prefer the record's, the kubelet's otherwise.
      const owner = known ?? ref
      if (owner.namespace !== '' && owner.name !== '') await this.#o.metadata?.remove(owner)
      await this.#o.ledger.dropped(ref.uid)
      log.info('claim unprepared')
      return {}
    } catch (err) {
      const code = errorCode(err)
      this.#o.observer?.onError(code)
      log.error({ err: errorMessage(err), code }, 'unprepare failed')
      return { error: `network-dra: ${errorMessage(err)}` }
    }
  }
}
