/**
 * Writes this driver's entries of a ResourceClaim's `status.devices` by server-side apply
 * (field manager = driver name, force): one entry per allocated device with a `Ready` condition,
 * the CNI result as `data` (≤10 KiB, trimmed when bigger) and `networkData`.
 *
 * Server-side apply semantics matter here: `status.devices` is a map list keyed by
 * (driver, pool, device, shareID), and an apply REMOVES entries this manager applied before but
 * left out now. So every call carries the full set of device entries the driver wants for the
 * claim, not only the one that just changed.
 *
 * `reconcile` is the other way in: read what the API server holds, compare this driver's entries
 * with the wanted ones (ignoring timestamps), and when they differ replace exactly this driver's
 * entries with a resourceVersion-guarded JSON patch. That also removes entries a server-side apply
 * cannot (written by another field manager, or for devices no longer held) and restores entries a
 * user wiped. Routine retries (conflicts with the resourceclaim controller) log at info; only a
 * write that finally fails is a warning, and a claim that is gone (404) is not an error at all.
 */
import { DriverError, errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Clock } from '../slices/clock.js'
import { sortKeys } from '../util/sort-keys.js'
import { httpStatusOf, isRetryable } from './http-status.js'

/** `status.devices[].data` limit (AllocatedDeviceStatusDataMaxLength). */
export const MAX_DATA_BYTES = 10 * 1024
/** `networkData.ips` limit (NetworkDeviceDataMaxIPs). */
export const MAX_NETWORK_IPS = 16

/** The claim being written. */
export interface ClaimRef {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  /** `metadata.generation`, recorded as the condition's observedGeneration when known. */
  readonly generation?: number | undefined
}

/** Network facts of an attached device (from the CNI result). */
export interface NetworkData {
  readonly interfaceName?: string | undefined
  /** CIDR form, e.g. `10.9.0.5/24`. */
  readonly ips?: readonly string[] | undefined
  readonly hardwareAddress?: string | undefined
}

/** Desired status of one allocated device. */
export interface DeviceStatus {
  readonly pool: string
  readonly device: string
  readonly shareID?: string | undefined
  readonly ready: boolean
  /** CamelCase reason, e.g. `NetworkReady`, `NetworkAttachFailed`, `Pending`. */
  readonly reason: string
  readonly message: string
  /** The CNI result (`data`), when attached. */
  readonly result?: Readonly<Record<string, unknown>> | undefined
  readonly networkData?: NetworkData | undefined
}

/** The part of the Kubernetes API the writer needs. */
export interface ClaimStatusClient {
  /** PATCH `resourceclaims/<name>/status` with `application/apply-patch+yaml`, force. */
  applyStatus(
    namespace: string,
    name: string,
    body: Readonly<Record<string, unknown>>,
    fieldManager: string,
  ): Promise<void>
  /** GET the claim: its resourceVersion and current `status.devices` (wire JSON). */
  readStatusDevices(
    namespace: string,
    name: string,
  ): Promise<{ resourceVersion: string; devices: readonly Readonly<Record<string, unknown>>[] }>
  /** PATCH `resourceclaims/<name>/status` with a JSON Patch (RFC 6902). */
  jsonPatchStatus(
    namespace: string,
    name: string,
    ops: readonly Readonly<Record<string, unknown>>[],
    fieldManager: string,
  ): Promise<void>
}

/**
 * Whether the apiserver refused an apply because it re-encoded `status.allocation` with sorted
 * JSON keys and then saw the (immutable) allocation "change". Observed on kube-apiserver 1.35
 * when the opaque parameters of the allocation were stored with unsorted keys (claims created
 * from JSON, not through kubectl's YAML conversion). Merge and JSON patches do not re-encode the
 * untouched allocation, so the writer falls back to a JSON Patch for such claims. kube-apiserver
 * 1.37 refuses the same apply with "field cannot be modified once set".
 */
export function isAllocationReencodeRefusal(err: unknown): boolean {
  const text = errorMessage(err)
  return (
    httpStatusOf(err) === 422 &&
    text.includes('status.allocation') &&
    // 1.35: "field is immutable"; 1.37: "Invalid value: null: field cannot be modified once set"
    (text.includes('immutable') || text.includes('cannot be modified once set'))
  )
}

/** Condition timestamps as metav1.Time writes them (RFC 3339, whole seconds). */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * The CNI result made to fit `data`: as is when small enough; otherwise `dns`, then `routes`
 * are dropped; then only `cniVersion`, `interfaces`, `ips`; then only `cniVersion` and `ips`;
 * `truncated: true` marks any trimmed form.
 */
export function trimCniResult(
  result: Readonly<Record<string, unknown>>,
  maxBytes: number = MAX_DATA_BYTES,
): Record<string, unknown> {
  const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v))
  if (size(result) <= maxBytes) return { ...result }
  const pick = (keys: readonly string[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (const k of keys) if (result[k] !== undefined) out[k] = result[k]
    return { ...out, truncated: true }
  }
  const withoutDns: Record<string, unknown> = { ...result, truncated: true }
  delete withoutDns['dns']
  const candidates: Record<string, unknown>[] = [
    withoutDns,
    (() => {
      const c: Record<string, unknown> = { ...withoutDns }
      delete c['routes']
      return c
    })(),
    pick(['cniVersion', 'interfaces', 'ips']),
    pick(['cniVersion', 'ips']),
  ]
  for (const c of candidates) if (size(c) <= maxBytes) return c
  return { cniVersion: result['cniVersion'], truncated: true }
}

/** networkData within the API limits (unique IPs, at most 16; lengths capped by omission). */
export function boundedNetworkData(n: NetworkData): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (n.interfaceName !== undefined && n.interfaceName.length <= 256) {
    out['interfaceName'] = n.interfaceName
  }
  if (n.ips !== undefined && n.ips.length > 0) {
    out['ips'] = [...new Set(n.ips)].slice(0, MAX_NETWORK_IPS)
  }
  if (n.hardwareAddress !== undefined && n.hardwareAddress.length <= 128) {
    out['hardwareAddress'] = n.hardwareAddress
  }
  return out
}

/** The apply body for a claim's `status.devices` entries of this driver. */
export function buildStatusApply(
  claim: ClaimRef,
  driverName: string,
  devices: readonly DeviceStatus[],
  transitionTime: (d: DeviceStatus) => string,
): Record<string, unknown> {
  return {
    apiVersion: 'resource.k8s.io/v1',
    kind: 'ResourceClaim',
    metadata: { name: claim.name, namespace: claim.namespace, uid: claim.uid },
    status: {
      devices: devices.map(d => {
        const entry: Record<string, unknown> = {
          driver: driverName,
          pool: d.pool,
          device: d.device,
          ...(d.shareID !== undefined ? { shareID: d.shareID } : {}),
          conditions: [
            {
              type: 'Ready',
              status: d.ready ? 'True' : 'False',
              reason: d.reason,
              message: d.message.slice(0, 32768),
              lastTransitionTime: transitionTime(d),
              ...(claim.generation !== undefined ? { observedGeneration: claim.generation } : {}),
            },
          ],
        }
        if (d.result !== undefined) entry['data'] = trimCniResult(d.result)
        if (d.networkData !== undefined) {
          const nd = boundedNetworkData(d.networkData)
          if (Object.keys(nd).length > 0) entry['networkData'] = nd
        }
        return entry
      }),
    },
  }
}

/** The parts of a device entry that matter when comparing it with what the server holds. */
function entryEssence(d: Readonly<Record<string, unknown>>): unknown {
  const conds = Array.isArray(d['conditions']) ? (d['conditions'] as Record<string, unknown>[]) : []
  return sortKeys({
    key: [d['driver'], d['pool'], d['device'], d['shareID'] ?? ''],
    conditions: conds.map(c => [c['type'], c['status'], c['reason'], c['message']]),
    data: d['data'] ?? null,
    networkData: d['networkData'] ?? null,
  })
}

/** Whether two sets of one driver's device entries are the same, ignoring order and timestamps. */
export function sameEntries(
  live: readonly Readonly<Record<string, unknown>>[],
  want: readonly Readonly<Record<string, unknown>>[],
): boolean {
  const canon = (xs: readonly Readonly<Record<string, unknown>>[]): string[] =>
    xs.map(x => JSON.stringify(entryEssence(x))).sort()
  return JSON.stringify(canon(live)) === JSON.stringify(canon(want))
}

/** Options of {@link ClaimStatusWriter}. */
export interface ClaimStatusWriterOptions {
  readonly client: ClaimStatusClient
  readonly driverName: string
  readonly clock: Clock
  readonly logger: Logger
  /** Attempts per write (first try included). Default 5. */
  readonly maxAttempts?: number
  /** First retry delay, doubled each time up to `maxDelayMs`. Defaults 200 ms / 5 s. */
  readonly baseDelayMs?: number
  readonly maxDelayMs?: number
}

/** Applies device status with retries; remembers condition transition times per device. */
export class ClaimStatusWriter {
  readonly #o: Required<ClaimStatusWriterOptions>
  readonly #transitions = new Map<string, { ready: boolean; time: string }>()
  /** Claims whose status must be written by JSON Patch (see isAllocationReencodeRefusal). */
  readonly #patchOnly = new Set<string>()

  constructor(opts: ClaimStatusWriterOptions) {
    this.#o = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 5_000, ...opts }
  }

  /**
   * Apply the full set of this driver's device entries for `claim`. Retries conflicts, throttling,
   * server and network errors with exponential backoff; throws `DriverError('NDRA_KUBE_API')`
   * when the API refuses the body or the attempts run out.
   */
  async write(claim: ClaimRef, devices: readonly DeviceStatus[]): Promise<void> {
    const body = buildStatusApply(claim, this.#o.driverName, devices, d =>
      this.#transition(claim, d),
    )
    const ours = (body['status'] as { devices: Record<string, unknown>[] }).devices
    let delay = this.#o.baseDelayMs
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.#patchOnly.has(claim.uid)) await this.#jsonPatch(claim, ours)
        else await this.#o.client.applyStatus(claim.namespace, claim.name, body, this.#o.driverName)
        return
      } catch (err: unknown) {
        if (!this.#patchOnly.has(claim.uid) && isAllocationReencodeRefusal(err)) {
          this.#o.logger.info(
            { claimUID: claim.uid, namespace: claim.namespace, name: claim.name },
            'server-side apply refused (allocation re-encoding); using a JSON patch for this claim',
          )
          this.#patchOnly.add(claim.uid)
          attempt--
          continue
        }
        const last = attempt >= this.#o.maxAttempts || !isRetryable(err)
        this.#logFailure(claim, attempt, err, last)
        if (last) {
          throw new DriverError(
            'NDRA_KUBE_API',
            `writing status of ResourceClaim ${claim.namespace}/${claim.name}: ${errorMessage(err)}`,
            { cause: err },
          )
        }
        await this.#o.clock.sleep(delay)
        delay = Math.min(delay * 2, this.#o.maxDelayMs)
      }
    }
  }

  /**
   * Replace this driver's entries, keep other drivers' ones, guarded by the resourceVersion
   * (`test` op), so a concurrent writer makes the patch fail and the loop retry.
   */
  async #jsonPatch(claim: ClaimRef, ours: readonly Record<string, unknown>[]): Promise<void> {
    const cur = await this.#o.client.readStatusDevices(claim.namespace, claim.name)
    const others = cur.devices.filter(d => d['driver'] !== this.#o.driverName)
    try {
      await this.#o.client.jsonPatchStatus(
        claim.namespace,
        claim.name,
        [
          { op: 'test', path: '/metadata/resourceVersion', value: cur.resourceVersion },
          { op: 'add', path: '/status/devices', value: [...others, ...ours] },
        ],
        this.#o.driverName,
      )
    } catch (err: unknown) {
      // The apiserver answers a failed `test` op with 422 Invalid and no details, exactly like a
      // body it refuses. A changed resourceVersion tells the two apart: then it was a concurrent
      // writer (e.g. the resourceclaim controller), a conflict worth a retry.
      if (httpStatusOf(err) === 422) {
        const now = await this.#o.client.readStatusDevices(claim.namespace, claim.name)
        if (now.resourceVersion !== cur.resourceVersion) {
          throw new DriverError(
            'NDRA_KUBE_API',
            `ResourceClaim ${claim.namespace}/${claim.name} changed while its status was patched (resourceVersion ${cur.resourceVersion} -> ${now.resourceVersion})`,
            { cause: Object.assign(new Error('conflict'), { code: 409 }) },
          )
        }
      }
      throw err
    }
  }

  #logFailure(claim: ClaimRef, attempt: number, err: unknown, last: boolean): void {
    const fields = {
      claimUID: claim.uid,
      namespace: claim.namespace,
      name: claim.name,
      attempt,
      err: errorMessage(err),
    }
    if (!last) this.#o.logger.info(fields, 'claim status write failed; retrying')
    else if (httpStatusOf(err) === 404)
      this.#o.logger.info(fields, 'claim is gone; status not written')
    else this.#o.logger.warn(fields, 'claim status write failed')
  }

  /**
   * Make this driver's entries of the claim's `status.devices` equal to what `want()` returns:
   * read the claim, then ask `want()` (so what it derives from is at least as new as what the
   * read saw: another instance records an attachment before it writes its status), and only when
   * the entries differ (conditions' status/reason/message, data, networkData, or the set of
   * devices) replace them, keeping condition transition times the server already holds. `want()`
   * returning undefined means the claim is no longer held: nothing is written. Throws
   * `NDRA_KUBE_API` like `write` (404 included: the caller decides whether a vanished claim
   * matters).
   */
  async reconcile(
    claim: ClaimRef,
    want: () => Promise<readonly DeviceStatus[] | undefined>,
  ): Promise<'unchanged' | 'written' | 'gone'> {
    let delay = this.#o.baseDelayMs
    for (let attempt = 1; ; attempt++) {
      try {
        const cur = await this.#o.client.readStatusDevices(claim.namespace, claim.name)
        const devices = await want()
        if (devices === undefined) return 'gone'
        const live = cur.devices.filter(d => d['driver'] === this.#o.driverName)
        this.#adoptTransitions(claim, live)
        const body = buildStatusApply(claim, this.#o.driverName, devices, d =>
          this.#transition(claim, d),
        )
        const ours = (body['status'] as { devices: Record<string, unknown>[] }).devices
        if (sameEntries(live, ours)) return 'unchanged'
        const others = cur.devices.filter(d => d['driver'] !== this.#o.driverName)
        await this.#o.client.jsonPatchStatus(
          claim.namespace,
          claim.name,
          [
            { op: 'test', path: '/metadata/resourceVersion', value: cur.resourceVersion },
            { op: 'add', path: '/status/devices', value: [...others, ...ours] },
          ],
          this.#o.driverName,
        )
        return 'written'
      } catch (err: unknown) {
        // A failed `test` op is 422 without details: treat it as the conflict it almost always is.
        const retry = isRetryable(err) || httpStatusOf(err) === 422
        const last = attempt >= this.#o.maxAttempts || !retry
        this.#logFailure(claim, attempt, err, last)
        if (last) {
          throw new DriverError(
            'NDRA_KUBE_API',
            `reconciling status of ResourceClaim ${claim.namespace}/${claim.name}: ${errorMessage(err)}`,
            { cause: err },
          )
        }
        await this.#o.clock.sleep(delay)
        delay = Math.min(delay * 2, this.#o.maxDelayMs)
      }
    }
  }

  /** Keep the server's lastTransitionTime for conditions whose status we would not change. */
  #adoptTransitions(claim: ClaimRef, live: readonly Readonly<Record<string, unknown>>[]): void {
    for (const d of live) {
      const conds = Array.isArray(d['conditions']) ? (d['conditions'] as unknown[]) : []
      const ready = conds.find(
        (c): c is Record<string, unknown> =>
          typeof c === 'object' && c !== null && (c as Record<string, unknown>)['type'] === 'Ready',
      )
      const time = ready?.['lastTransitionTime']
      if (typeof time !== 'string') continue
      const shareID = typeof d['shareID'] === 'string' ? d['shareID'] : ''
      const key = `${claim.uid}|${String(d['pool'])}|${String(d['device'])}|${shareID}`
      if (!this.#transitions.has(key)) {
        this.#transitions.set(key, { ready: ready?.['status'] === 'True', time })
      }
    }
  }

  /** Forget a claim's transition times (after unprepare). */
  forget(claimUid: string): void {
    this.#patchOnly.delete(claimUid)
    for (const k of this.#transitions.keys())
      if (k.startsWith(`${claimUid}|`)) this.#transitions.delete(k)
  }

  #transition(claim: ClaimRef, d: DeviceStatus): string {
    const key = `${claim.uid}|${d.pool}|${d.device}|${d.shareID ?? ''}`
    const prev = this.#transitions.get(key)
    if (prev !== undefined && prev.ready === d.ready) return prev.time
    const time = kubeTime(this.#o.clock.now())
    this.#transitions.set(key, { ready: d.ready, time })
    return time
  }
}
