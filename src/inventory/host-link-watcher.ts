/**
 * Reads the host-link inventory and reports when the set of offered links (or any published
 * attribute) changes, so host-interface devices follow links appearing, vanishing or changing
 * state. Reads happen on `wake()` (a link notification, see link-monitor.ts; bursts coalesce into
 * one read `wakeDelayMs` later) and every `intervalMs` as a slow resync for anything missed.
 */
import type { Logger } from '../logger.js'
import { errorMessage } from '../errors.js'
import type { Clock, Timer } from '../slices/clock.js'
import type { HostLink } from './host-links.js'

/** Source of the current links (a `HostLinkInventory`). */
export interface HostLinkSource {
  list(): Promise<HostLink[]>
}

/** Options of {@link HostLinkWatcher}. */
export interface HostLinkWatcherOptions {
  readonly source: HostLinkSource
  readonly clock: Clock
  readonly logger: Logger
  readonly intervalMs: number
  /** Delay between a `wake()` and its read, so a burst of events costs one read (default 100 ms). */
  readonly wakeDelayMs?: number
  /** Called with the full list after the first poll and after every change. */
  readonly onChange: (links: readonly HostLink[]) => void
}

/** Event-driven reader with a periodic resync; `start` polls once at once, `stop` cancels. */
export class HostLinkWatcher {
  readonly #opts: HostLinkWatcherOptions
  #last: string | undefined
  #timer: Timer | undefined
  #wakeTimer: Timer | undefined
  #running = false
  #polling: Promise<void> | undefined
  #again = false

  constructor(opts: HostLinkWatcherOptions) {
    this.#opts = opts
  }

  /** Poll now, then every `intervalMs`. */
  async start(): Promise<void> {
    this.#running = true
    await this.poll()
  }

  stop(): void {
    this.#running = false
    this.#timer?.cancel()
    this.#timer = undefined
    this.#wakeTimer?.cancel()
    this.#wakeTimer = undefined
  }

  /** A link changed: read again soon (one read per burst). */
  wake(): void {
    if (!this.#running || this.#wakeTimer !== undefined) return
    this.#wakeTimer = this.#opts.clock.setTimeout(() => {
      this.#wakeTimer = undefined
      void this.poll()
    }, this.#opts.wakeDelayMs ?? 100)
  }

  /** One read (another one right after it when asked for meanwhile), then the resync timer is
   * re-armed. Reports a change when the serialised list differs from the last one. */
  poll(): Promise<void> {
    if (this.#polling) {
      this.#again = true
      return this.#polling
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false
        await this.#pollOnce()
      } while (this.#askedAgain())
    }
    this.#polling = run().finally(() => {
      this.#polling = undefined
      this.#timer?.cancel()
      this.#timer = undefined
      if (this.#running) {
        this.#timer = this.#opts.clock.setTimeout(() => void this.poll(), this.#opts.intervalMs)
      }
    })
    return this.#polling
  }

  /** Whether another run was asked for during the last one (and we are still running). */
  #askedAgain(): boolean {
    return this.#again && this.#running
  }

  /** Errors are logged and the previous list is kept (a failed `ip` call must not unpublish every
   * NIC). */
  async #pollOnce(): Promise<void> {
    try {
      const links = await this.#opts.source.list()
      const key = JSON.stringify(links)
      if (key !== this.#last) {
        this.#last = key
        this.#opts.onChange(links)
      }
    } catch (err: unknown) {
      this.#opts.logger.warn({ err: errorMessage(err) }, 'host link inventory failed')
    }
  }
}
