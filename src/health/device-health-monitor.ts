/**
 * Keeps the driver's device health list current and tells subscribers (the kubelet's
 * NodeWatchResources streams). Inputs: the published devices and host links (pushed by the
 * host-link watcher on every change), the prepared claims (the claim ledger's last snapshot, read
 * at each pass; the attacher and the status resync keep it fresh), and a probe of each attached pod
 * namespace.
 *
 * Cost is bounded: a pass probes at most `maxProbesPerPass` namespaces (round robin over the rest
 * in later passes), `concurrency` at a time; passes run every `intervalMs` and on `wake()` (link
 * events that `changes()` something the devices depend on: a burst of pods elsewhere on the node,
 * or macvlan children added to a parent whose state stays up, wakes nothing), but never closer
 * than `minGapMs`. Subscribers hear the full list after every pass, also
 * unchanged (the kubelet forgets a device not reported within its health timeout), and at once when
 * a link change alters it.
 */
import { errorMessage } from '../errors.js'
import type { HostLink } from '../inventory/host-links.js'
import type { LinkEvent } from '../inventory/link-monitor.js'
import type { Logger } from '../logger.js'
import type { Clock, Timer } from '../slices/clock.js'
import type { ClaimLedger } from '../state/claim-ledger.js'
import type { ClaimRecord } from '../state/state-types.js'
import {
  claimLinks,
  computeDeviceHealth,
  netnsKey,
  probedAttachments,
  type DeviceHealth,
  type NetnsView,
} from './device-health.js'
import type { NetnsInterfaceReader } from './netns-interfaces.js'

/** The prepared claims: the claim ledger's snapshot. */
export type ClaimSnapshotSource = Pick<ClaimLedger, 'claims'>

/** Options of {@link DeviceHealthMonitor}. */
export interface DeviceHealthMonitorOptions {
  readonly pool: string
  readonly claims: ClaimSnapshotSource
  readonly reader: NetnsInterfaceReader
  readonly clock: Clock
  readonly logger: Logger
  /** Period of the probe pass (and of the re-sent list). */
  readonly intervalMs: number
  /** Shortest time between two passes (woken passes wait for it). */
  readonly minGapMs: number
  readonly maxProbesPerPass: number
  readonly concurrency: number
}

/** Called with the full list. */
export type DeviceHealthListener = (devices: readonly DeviceHealth[]) => void

/** See the module header. */
export class DeviceHealthMonitor {
  readonly #o: DeviceHealthMonitorOptions
  readonly #listeners = new Set<DeviceHealthListener>()
  #published: readonly string[] = []
  #links: readonly HostLink[] = []
  #views = new Map<string, NetnsView>()
  #cursor = 0
  #current: readonly DeviceHealth[] = []
  #timer: Timer | undefined
  #running = false
  #passing: Promise<void> | undefined
  #again = false
  #lastPassAt = -Infinity
  /** Operstate of every link as its last event told it (see `changes`). */
  readonly #linkStates = new Map<string, string>()

  constructor(opts: DeviceHealthMonitorOptions) {
    this.#o = opts
  }

  /** The list as of the last pass or input change. */
  current(): readonly DeviceHealth[] {
    return this.#current
  }

  /** Adds a listener; returns its removal. */
  subscribe(listener: DeviceHealthListener): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /** New published devices / host links: recomputed at once (no probe needed), told if changed. */
  setDevices(published: readonly string[], links: readonly HostLink[]): void {
    this.#published = [...published]
    this.#links = [...links]
    this.#recompute(false)
  }

  /** First pass now, then every `intervalMs`. */
  async start(): Promise<void> {
    this.#running = true
    await this.pass()
  }

  stop(): void {
    this.#running = false
    this.#timer?.cancel()
    this.#timer = undefined
    this.#listeners.clear()
  }

  /**
   * Whether an event on node link `link` can change a device's health: a host link behind a
   * published device, or a link a prepared claim depends on (`claimLinks`).
   */
  concerns(link: string): boolean {
    return this.#links.some(l => l.name === link) || claimLinks(this.#claims()).has(link)
  }

  /**
   * Whether a link event can change a device's health: the link `concerns()` the devices, and it
   * appeared, vanished or changed operstate since the last event seen for it. Every event updates
   * the last state seen, so a link that starts to matter later is compared with what it was.
   */
  changes(event: LinkEvent): boolean {
    const before = this.#linkStates.get(event.name)
    if (event.deleted) this.#linkStates.delete(event.name)
    else this.#linkStates.set(event.name, event.state)
    if (!this.concerns(event.name)) return false
    return event.deleted || before !== event.state
  }

  /** Ask for a pass soon (a link event): runs once `minGapMs` after the previous one. */
  wake(): void {
    if (!this.#running) return
    const wait = Math.max(0, this.#lastPassAt + this.#o.minGapMs - this.#o.clock.now().getTime())
    this.#schedule(wait)
  }

  /** One probe pass; a pass requested while one runs is run right after it. */
  pass(): Promise<void> {
    if (this.#passing) {
      this.#again = true
      return this.#passing
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false
        await this.#passOnce()
      } while (this.#askedAgain())
    }
    this.#passing = run().finally(() => {
      this.#passing = undefined
      if (this.#running) this.#schedule(this.#o.intervalMs)
    })
    return this.#passing
  }

  /** Whether another run was asked for during the last one (and we are still running). */
  #askedAgain(): boolean {
    return this.#again && this.#running
  }

  #schedule(ms: number): void {
    this.#timer?.cancel()
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined
      void this.pass()
    }, ms)
  }

  async #passOnce(): Promise<void> {
    this.#lastPassAt = this.#o.clock.now().getTime()
    const attachments = probedAttachments(this.#claims())
    const byKey = new Map(attachments.map(a => [netnsKey(a), a]))
    const keys = [...byKey.keys()].sort()
    // Forget namespaces no attachment refers to any more.
    this.#views = new Map([...this.#views].filter(([k]) => byKey.has(k)))
    const take = Math.min(keys.length, this.#o.maxProbesPerPass)
    const start = keys.length === 0 ? 0 : this.#cursor % keys.length
    const chosen = Array.from({ length: take }, (_, i) => keys[(start + i) % keys.length] ?? '')
    this.#cursor = start + take
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < chosen.length) {
        const key = chosen[next++] ?? ''
        const a = byKey.get(key)
        if (a === undefined) continue
        const view = await this.#o.reader
          .read(a.netns, a.netnsId)
          .catch((err: unknown): NetnsView => ({ kind: 'error', message: errorMessage(err) }))
        this.#views.set(key, view)
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, this.#o.concurrency) }, worker))
    this.#recompute(true)
  }

  #claims(): ClaimRecord[] {
    return Object.values(this.#o.claims.claims())
  }

  /** Recompute; tell listeners when changed, or always after a pass (`always`). */
  #recompute(always: boolean): void {
    const next = computeDeviceHealth({
      pool: this.#o.pool,
      published: this.#published,
      links: this.#links,
      claims: this.#claims(),
      netns: this.#views,
    })
    const changed = JSON.stringify(next) !== JSON.stringify(this.#current)
    if (changed) {
      const bad = next.filter(d => d.health !== 'HEALTHY')
      this.#o.logger.info(
        { unhealthy: bad.map(d => `${d.device}: ${d.health} ${d.message}`) },
        'device health changed',
      )
    }
    this.#current = next
    if (!changed && !always) return
    for (const l of [...this.#listeners]) {
      try {
        l(next)
      } catch (err: unknown) {
        this.#o.logger.warn({ err: errorMessage(err) }, 'device health listener failed')
      }
    }
  }
}
