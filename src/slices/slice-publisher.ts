/**
 * Publishes this node's pool (pool name = node name) as ResourceSlices and keeps it published.
 *
 * Reconcile (`sync`), serialised and coalesced:
 * 1. list the driver's slices on this node;
 * 2. if the slices of the highest generation already hold exactly the desired devices (same
 *    chunks, same `resourceSliceCount`), only delete obsolete ones (lower generation, other pool);
 * 3. otherwise publish a new generation (max of seen and last published + 1): delete obsolete
 *    slices first, then update reusable slices (same device set first), then create the rest.
 *
 * Device taints (KEP-5055) are compared like attributes. An apiserver with DRADeviceTaints off
 * (1.35 default) drops them silently on write; the publisher notices it on the stored object and
 * from then on publishes without taints (else every sync would see a difference and write again).
 * Shared host links (KEP-5075) likewise: an apiserver with DRAConsumableCapacity off (1.35
 * default) drops `allowMultipleAllocations` and capacity request policies; the publisher notices,
 * warns once, and from then on publishes each shared link as today's exclusive host-interface
 * device (`exclusiveFallback`).
 *
 * The kubelet deletes a node's slices when it starts and 30 s after the driver disconnects, so
 * the publisher watches its slices (any event schedules a debounced sync) and also re-syncs on a
 * fixed interval in case a watch event was missed. New slices use `generateName:
 * <node>-<driver>-` and a controller ownerReference to the Node so they go with it.
 */
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Clock, Timer } from './clock.js'
import {
  MAX_DEVICES_PER_SLICE,
  exclusiveFallback,
  maxDevicesFor,
  splitDevices,
  type SliceDevice,
} from './device-builder.js'
import type {
  OwnerReference,
  ResourceSliceObject,
  SliceClient,
  WatchHandle,
} from './slice-client.js'
import { sortKeys } from '../util/sort-keys.js'

/** Options of {@link SlicePublisher}. */
export interface SlicePublisherOptions {
  readonly client: SliceClient
  readonly driverName: string
  readonly nodeName: string
  readonly clock: Clock
  readonly logger: Logger
  /** Full resync period (missed watch events, failed writes). Default 60 s. */
  readonly resyncIntervalMs?: number
  /** Debounce after a watch event or a device change. Default 1 s. */
  readonly reactDelayMs?: number
  /** Delay before re-opening a closed watch. Default 5 s. */
  readonly rewatchDelayMs?: number
  /** Devices per slice; the API allows 128. */
  readonly maxDevicesPerSlice?: number
}

/** Keeps this node's ResourceSlices equal to the devices it is given. */
export class SlicePublisher {
  readonly #o: Required<SlicePublisherOptions>
  readonly #selector: string
  #devices: readonly SliceDevice[] = []
  #lastGeneration = -1
  #owner: OwnerReference | undefined
  #inflight: Promise<void> | undefined
  #again = false
  #running = false
  #watch: WatchHandle | undefined
  #resyncTimer: Timer | undefined
  #reactTimer: Timer | undefined
  #rewatchTimer: Timer | undefined
  #taintsDropped = false
  #sharingDropped = false

  constructor(opts: SlicePublisherOptions) {
    this.#o = {
      resyncIntervalMs: 60_000,
      reactDelayMs: 1_000,
      rewatchDelayMs: 5_000,
      maxDevicesPerSlice: MAX_DEVICES_PER_SLICE,
      ...opts,
    }
    this.#selector = `spec.nodeName=${opts.nodeName},spec.driver=${opts.driverName}`
  }

  /** True once the apiserver was seen dropping device taints (DRADeviceTaints off). */
  get taintsDropped(): boolean {
    return this.#taintsDropped
  }

  /** True once the apiserver was seen dropping `allowMultipleAllocations` (DRAConsumableCapacity
   * off): shared host links are then published as exclusive host-interface devices. */
  get sharingDropped(): boolean {
    return this.#sharingDropped
  }

  /** Generation of the last published pool (-1 before the first publish). */
  get generation(): number {
    return this.#lastGeneration
  }

  /** Replace the device list; a running publisher syncs shortly after. */
  setDevices(devices: readonly SliceDevice[]): void {
    this.#devices = [...devices]
    if (this.#running) this.#schedule(this.#o.reactDelayMs)
  }

  /** First sync (errors are logged, the resync retries), then the watch and the resync loop. */
  async start(): Promise<void> {
    this.#running = true
    await this.#syncLogged()
    await this.#openWatch()
    this.#armResync()
  }

  /** Stop watching and syncing; the slices stay (a restarting driver takes them over). */
  async stop(): Promise<void> {
    this.#running = false
    for (const t of [this.#resyncTimer, this.#reactTimer, this.#rewatchTimer]) t?.cancel()
    this.#watch?.stop()
    this.#watch = undefined
    await this.#inflight?.catch(() => undefined)
  }

  /** Delete every slice of this driver on this node (uninstall). */
  async deleteAll(): Promise<void> {
    for (const s of await this.#o.client.list(this.#selector)) {
      await this.#o.client.delete(s.metadata.name ?? '', precond(s))
    }
  }

  /** One reconcile pass; concurrent callers share it, and a call during a pass runs another. */
  sync(): Promise<void> {
    if (this.#inflight !== undefined) {
      this.#again = true
      return this.#inflight
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#again = false
          await this.#syncOnce()
        } while (this.#rerunRequested())
      } finally {
        this.#inflight = undefined
      }
    }
    this.#inflight = run()
    return this.#inflight
  }

  /** Whether a sync was requested while the last pass ran (set from other callers). */
  #rerunRequested(): boolean {
    return this.#again
  }

  async #syncOnce(): Promise<void> {
    const { client, nodeName, driverName } = this.#o
    const current = await client.list(this.#selector)
    const devices = this.#devices
      .map(d => (this.#sharingDropped ? exclusiveFallback(d) : d))
      .map(d => (this.#taintsDropped ? withoutTaints(d) : d))
    const desired = splitDevices(devices, maxDevicesFor(devices, this.#o.maxDevicesPerSlice))
    const mine = current.filter(s => s.spec.pool.name === nodeName)
    const obsolete = current.filter(s => s.spec.pool.name !== nodeName)
    const maxGen = mine.reduce((m, s) => Math.max(m, s.spec.pool.generation), -1)
    const top = mine.filter(s => s.spec.pool.generation === maxGen)
    obsolete.push(...mine.filter(s => s.spec.pool.generation < maxGen))

    if (upToDate(top, desired)) {
      this.#lastGeneration = Math.max(this.#lastGeneration, maxGen)
      for (const s of obsolete) await client.delete(s.metadata.name ?? '', precond(s))
      return
    }
    const generation = Math.max(maxGen, this.#lastGeneration) + 1
    const owner = await this.#ownerRef()
    const reusable = [...top]
    const plan: { chunk: SliceDevice[]; reuse: ResourceSliceObject | undefined }[] = desired.map(
      chunk => {
        const i = reusable.findIndex(s => sameNames(s.spec.devices ?? [], chunk))
        return { chunk, reuse: i >= 0 ? reusable.splice(i, 1)[0] : undefined }
      },
    )
    for (const p of plan) if (p.reuse === undefined) p.reuse = reusable.shift()
    obsolete.push(...reusable)

    for (const s of obsolete) await client.delete(s.metadata.name ?? '', precond(s))
    for (const p of plan) {
      const spec = {
        driver: driverName,
        pool: { name: nodeName, generation, resourceSliceCount: desired.length },
        nodeName,
        devices: p.chunk,
      }
      const stored =
        p.reuse !== undefined
          ? await client.update({
              apiVersion: 'resource.k8s.io/v1',
              kind: 'ResourceSlice',
              metadata: { ...p.reuse.metadata, ownerReferences: [owner] },
              spec,
            })
          : await client.create({
              apiVersion: 'resource.k8s.io/v1',
              kind: 'ResourceSlice',
              metadata: { generateName: `${nodeName}-${driverName}-`, ownerReferences: [owner] },
              spec,
            })
      this.#noticeDroppedTaints(p.chunk, stored)
      if (this.#noticeDroppedSharing(p.chunk, stored)) this.#again = true
    }
    this.#lastGeneration = generation
    this.#o.logger.info(
      {
        generation,
        slices: desired.length,
        devices: this.#devices.length,
        deleted: obsolete.length,
      },
      'published resource slices',
    )
  }

  #noticeDroppedTaints(sent: readonly SliceDevice[], stored: ResourceSliceObject): void {
    if (this.#taintsDropped || !sent.some(hasTaints)) return
    if ((stored.spec.devices ?? []).some(hasTaints)) return
    this.#taintsDropped = true
    this.#o.logger.warn(
      'the apiserver dropped the device taints (DRADeviceTaints feature gate off?); publishing without them',
    )
  }

  /** True when this write revealed it (the caller then publishes the fallback right away). */
  #noticeDroppedSharing(sent: readonly SliceDevice[], stored: ResourceSliceObject): boolean {
    if (this.#sharingDropped || !sent.some(isShared)) return false
    if ((stored.spec.devices ?? []).some(isShared)) return false
    this.#sharingDropped = true
    this.#o.logger.warn(
      { devices: sent.filter(isShared).map(d => d.name) },
      'the apiserver dropped allowMultipleAllocations (DRAConsumableCapacity feature gate off?); publishing shared host links as exclusive host-interface devices',
    )
    return true
  }

  async #ownerRef(): Promise<OwnerReference> {
    this.#owner ??= {
      apiVersion: 'v1',
      kind: 'Node',
      name: this.#o.nodeName,
      uid: await this.#o.client.nodeUid(this.#o.nodeName),
      controller: true,
    }
    return this.#owner
  }

  async #syncLogged(): Promise<void> {
    try {
      await this.sync()
    } catch (err: unknown) {
      this.#o.logger.warn({ err: errorMessage(err) }, 'resource slice sync failed; will retry')
      if (this.#running) this.#schedule(this.#o.rewatchDelayMs)
    }
  }

  #schedule(ms: number): void {
    if (this.#reactTimer !== undefined) return
    this.#reactTimer = this.#o.clock.setTimeout(() => {
      this.#reactTimer = undefined
      void this.#syncLogged()
    }, ms)
  }

  #armResync(): void {
    if (!this.#running) return
    this.#resyncTimer = this.#o.clock.setTimeout(() => {
      void this.#syncLogged().then(() => {
        this.#armResync()
      })
    }, this.#o.resyncIntervalMs)
  }

  async #openWatch(): Promise<void> {
    if (!this.#running) return
    try {
      this.#watch = await this.#o.client.watch(
        this.#selector,
        type => {
          if (type !== 'BOOKMARK') this.#schedule(this.#o.reactDelayMs)
        },
        err => {
          this.#watch = undefined
          // A watch ends routinely (the client's and the API server's timeouts, ~every 30-60 s)
          // and stop() aborts it: both are re-watched, neither is a warning. A failure to open
          // the watch again is (below).
          if (err !== undefined && this.#running) {
            this.#o.logger.debug(
              { err: errorMessage(err) },
              'resource slice watch ended; re-watching',
            )
          }
          this.#rewatchLater()
        },
      )
    } catch (err: unknown) {
      this.#o.logger.warn({ err: errorMessage(err) }, 'resource slice watch failed')
      this.#rewatchLater()
    }
  }

  #rewatchLater(): void {
    if (!this.#running) return
    this.#rewatchTimer = this.#o.clock.setTimeout(() => {
      // Events may have been missed while the watch was down.
      this.#schedule(0)
      void this.#openWatch()
    }, this.#o.rewatchDelayMs)
  }
}

function precond(s: ResourceSliceObject): { uid?: string; resourceVersion?: string } {
  return {
    ...(s.metadata.uid !== undefined ? { uid: s.metadata.uid } : {}),
    ...(s.metadata.resourceVersion !== undefined
      ? { resourceVersion: s.metadata.resourceVersion }
      : {}),
  }
}

function sameNames(a: readonly SliceDevice[], b: readonly SliceDevice[]): boolean {
  if (a.length !== b.length) return false
  const names = new Set(a.map(d => d.name))
  return b.every(d => names.has(d.name))
}

/** Top-generation slices hold exactly the desired chunks, with the right slice count. */
function upToDate(top: readonly ResourceSliceObject[], desired: readonly SliceDevice[][]): boolean {
  if (top.length !== desired.length) return false
  const have = new Set(top.map(s => canonicalDevices(s.spec.devices ?? [])))
  if (top.some(s => s.spec.pool.resourceSliceCount !== desired.length)) return false
  return desired.every(chunk => have.has(canonicalDevices(chunk)))
}

/** Order-independent, key-order-independent form of a device list (the apiserver sorts map keys);
 * taints by key, value and effect (`timeAdded` is the apiserver's). */
function canonicalDevices(devices: readonly SliceDevice[]): string {
  return JSON.stringify(
    devices
      .map(d => ({
        name: d.name,
        attributes: sortKeys(d.attributes ?? {}),
        capacity: sortKeys(d.capacity ?? {}),
        allowMultipleAllocations: d.allowMultipleAllocations === true,
        taints: (d.taints ?? []).map(t => [t.key, t.value ?? '', t.effect].join('\u0000')).sort(),
      }))
      .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
  )
}

function hasTaints(d: SliceDevice): boolean {
  return (d.taints ?? []).length > 0
}

function isShared(d: SliceDevice): boolean {
  return d.allowMultipleAllocations === true
}

function withoutTaints(d: SliceDevice): SliceDevice {
  if (!hasTaints(d)) return d
  const rest = { ...d }
  delete rest.taints
  return rest
}
