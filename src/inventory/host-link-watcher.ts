/**
 * Polls the host-link inventory and reports when the set of offered links (or any published
 * attribute) changes, so host-interface devices follow links appearing, vanishing or changing
 * state. Polling (not netlink) keeps it dependency-free; the interval bounds the staleness.
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
  /** Called with the full list after the first poll and after every change. */
  readonly onChange: (links: readonly HostLink[]) => void
}

/** Periodic poller; `start` polls once at once, `stop` cancels the next poll. */
export class HostLinkWatcher {
  readonly #opts: HostLinkWatcherOptions
  #last: string | undefined
  #timer: Timer | undefined
  #running = false

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
  }

  /** One poll; reports a change when the serialised list differs from the last one. Errors are
   * logged and the previous list is kept (a failed `ip` call must not unpublish every NIC). */
  async poll(): Promise<void> {
    try {
      const links = await this.#opts.source.list()
      const key = JSON.stringify(links)
      if (key !== this.#last) {
        this.#last = key
        this.#opts.onChange(links)
      }
    } catch (err: unknown) {
      this.#opts.logger.warn({ err: errorMessage(err) }, 'host link inventory failed')
    } finally {
      if (this.#running) {
        this.#timer = this.#opts.clock.setTimeout(() => void this.poll(), this.#opts.intervalMs)
      }
    }
  }
}
