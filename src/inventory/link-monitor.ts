/**
 * Link notifications from the kernel: a long-running `ip -o monitor link` child whose every output
 * line (one rtnetlink RTM_NEWLINK/RTM_DELLINK message) becomes an `onEvent()` call. Chosen over
 * polling and over the npm `netlink` binding by measurement (`npm run bench:links`: the event within
 * a millisecond of the `ip link set` call's return like the binding, 2.7 MiB RSS and no measurable
 * CPU; the binding is an early-stage native addon adding ~11 MiB to the daemon). Only the link's
 * name, operstate and whether it was deleted are taken from a line (`[Deleted ]<index>:
 * <name>[@<peer>]: … state <STATE> …`), so listeners can ignore links that do not concern them (a
 * burst of pods creates a veth per pod on the node) and events that change nothing they use; the
 * inventory they re-read stays the single source of link facts. When the child exits it is
 * restarted after `restartDelayMs`, with an `onEvent(undefined)` for what may have been missed
 * meanwhile (undefined: any link may have changed).
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Clock, Timer } from '../slices/clock.js'

/** A started child process. */
export interface LineProcess {
  stop(): void
}

/** Starts a process and reports its stdout lines and its end. */
export interface LineSpawner {
  spawn(
    file: string,
    args: readonly string[],
    onLine: (line: string) => void,
    onExit: (reason: string) => void,
  ): LineProcess
}

/** The real spawner (node:child_process); stderr is discarded. */
export const nodeLineSpawner: LineSpawner = {
  spawn(file, args, onLine, onExit) {
    const child = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'ignore'] })
    let ended = false
    const end = (reason: string): void => {
      if (ended) return
      ended = true
      onExit(reason)
    }
    createInterface({ input: child.stdout }).on('line', onLine)
    child.on('error', err => {
      end(errorMessage(err))
    })
    child.on('exit', (code, signal) => {
      end(signal !== null ? `killed by ${signal}` : `exited with code ${String(code)}`)
    })
    return {
      stop: () => {
        ended = true
        child.kill()
      },
    }
  },
}

/** Options of {@link LinkMonitor}. */
export interface LinkMonitorOptions {
  readonly spawner: LineSpawner
  readonly clock: Clock
  readonly logger: Logger
  /** A link changed: what the line says, or undefined when it cannot be told (anything may have). */
  readonly onEvent: (event: LinkEvent | undefined) => void
  readonly ipPath?: string
  readonly restartDelayMs?: number
}

/** See the module header. */
export class LinkMonitor {
  readonly #o: LinkMonitorOptions
  #child: LineProcess | undefined
  #restart: Timer | undefined
  #running = false
  /** Lines seen since start (for metrics and tests). */
  events = 0

  constructor(opts: LinkMonitorOptions) {
    this.#o = opts
  }

  start(): void {
    this.#running = true
    this.#spawn()
  }

  stop(): void {
    this.#running = false
    this.#restart?.cancel()
    this.#restart = undefined
    this.#child?.stop()
    this.#child = undefined
  }

  #spawn(): void {
    this.#child = this.#o.spawner.spawn(
      this.#o.ipPath ?? 'ip',
      ['-o', 'monitor', 'link'],
      line => {
        this.events++
        this.#o.onEvent(parseLinkEvent(line))
      },
      reason => {
        this.#child = undefined
        if (!this.#running) return
        const delay = this.#o.restartDelayMs ?? 5_000
        this.#o.logger.warn({ reason, restartInMs: delay }, 'ip monitor link ended; restarting')
        this.#restart = this.#o.clock.setTimeout(() => {
          this.#restart = undefined
          if (!this.#running) return
          this.#spawn()
          this.#o.onEvent(undefined)
        }, delay)
      },
    )
  }
}

/** One link notification. */
export interface LinkEvent {
  readonly name: string
  /** The operstate in lower case (`up`, `down`, `lowerlayerdown`, …); '' when the line has none. */
  readonly state: string
  /** The link is gone (RTM_DELLINK). */
  readonly deleted: boolean
}

const MONITOR_LINE = /^(Deleted\s+)?\d+:\s+([^\s:@]+)/
const STATE = /\sstate\s+(\S+)/

/** One `ip -o monitor link` line as an event; undefined when the line is not one. */
export function parseLinkEvent(line: string): LinkEvent | undefined {
  const m = MONITOR_LINE.exec(line)
  const name = m?.[2]
  if (m === null || name === undefined) return undefined
  return {
    name,
    state: (STATE.exec(line)?.[1] ?? '').toLowerCase(),
    deleted: m[1] !== undefined,
  }
}
