/**
 * The plugin's durable record of prepared claims and their attachments (`state.json` in the
 * plugin data directory). Every change is a read-modify-write under an in-process queue plus a
 * cross-process file lock, re-reading the file under the lock, so two plugin instances on one
 * node (DaemonSet rolling update with maxSurge) never lose each other's writes; the file is
 * replaced atomically so a crash never leaves it torn.
 *
 * The in-memory snapshot is what this instance last read or wrote. While another instance shares the
 * file (the overlap of a rolling update), it may have changed the file since: every decision that
 * depends on what is recorded (attach, detach, prepare, unprepare, recovery, status reconcile) first
 * calls `refresh()`, which re-reads the file when its identity (inode, size, mtime) changed. The
 * file is only ever replaced by rename, so a read without the lock sees a whole document.
 *
 * Only the claim ledger (claim-ledger.ts) uses this store: it owns what a change of a claim record
 * may be; everything else reads and changes claims through the ledger's named transitions.
 */
import { mkdir, readFile, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import { lock } from 'proper-lockfile'
import { DriverError, errorMessage } from '../errors.js'
import { isErrno, writeFileAtomic } from '../fs/write-file-atomic.js'
import { silentLogger, type Logger } from '../logger.js'
import { checkStateDocument, decodeState, emptyState, encodeState } from './state-codec.js'
import type { ClaimRecord, PluginState } from './state-types.js'

/** Name of the state file inside the state directory. */
export const STATE_FILE_NAME = 'state.json'
/** Name of the lock (a directory, proper-lockfile style) next to the state file. */
export const STATE_LOCK_NAME = 'state.json.lock'

const STATE_FILE_MODE = 0o600
const STATE_DIR_MODE = 0o700
const DEFAULT_LOCK_TIMEOUT_MS = 15_000
const DEFAULT_LOCK_STALE_MS = 10_000
const RETRY_FIRST_MS = 5
const RETRY_MAX_MS = 100

/** Options of {@link StateStore.open}. */
export interface StateStoreOptions {
  /** State directory (created 0700 if missing), e.g. `/var/lib/network-dra`. */
  readonly dir: string
  readonly logger?: Logger
  /** How long one update waits for the file lock before failing with `NDRA_STATE_LOCK`. */
  readonly lockTimeoutMs?: number
  /**
   * A lock not refreshed for this long belongs to a dead process and is taken over. The holder
   * refreshes it every half of this, so a live holder is never robbed (minimum 2000).
   */
  readonly lockStaleMs?: number
  /** Told the phase durations of every update that ran its callback (metrics). */
  readonly observer?: StateUpdateObserver
}

/** Seconds one update spent in each phase; `total` is from the call to the lock's release. */
export interface StateUpdateTimings {
  /** Waiting behind this instance's earlier updates and refreshes. */
  readonly queue: number
  /** Taking the cross-process file lock. */
  readonly lock: number
  /** Under the lock: re-read, the callback, encode, check and the atomic replace (when changed). */
  readonly write: number
  readonly total: number
}

/** Receives {@link StateUpdateTimings}; must not throw. */
export interface StateUpdateObserver {
  observeUpdate(timings: StateUpdateTimings): void
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

function isThenable(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/** Durable, lock-protected claim store; one instance per process, shared by all callers. */
export class StateStore {
  readonly #path: string
  readonly #lockPath: string
  readonly #logger: Logger
  readonly #lockTimeoutMs: number
  readonly #lockStaleMs: number
  readonly #observer: StateUpdateObserver | undefined
  #state: PluginState
  #queue: Promise<unknown> = Promise.resolve()
  #closed = false
  /** Identity of the file behind `#state` (undefined: not read from a file yet / no file). */
  #fileId: string | undefined

  private constructor(opts: StateStoreOptions, initial: PluginState) {
    this.#path = join(opts.dir, STATE_FILE_NAME)
    this.#lockPath = join(opts.dir, STATE_LOCK_NAME)
    this.#logger = opts.logger ?? silentLogger()
    this.#lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
    this.#lockStaleMs = opts.lockStaleMs ?? DEFAULT_LOCK_STALE_MS
    this.#observer = opts.observer
    this.#state = deepFreeze(initial)
  }

  /**
   * Create the directory if needed and load the state. A missing file is an empty state; a
   * corrupt file or one of an unknown apiVersion throws `NDRA_STATE_CORRUPT` so an operator
   * looks at it instead of the plugin forgetting attachments it must clean up.
   */
  static async open(opts: StateStoreOptions): Promise<StateStore> {
    await mkdir(opts.dir, { recursive: true, mode: STATE_DIR_MODE })
    const path = join(opts.dir, STATE_FILE_NAME)
    const id = await fileIdentity(path)
    const store = new StateStore(opts, await readState(path))
    store.#fileId = id
    return store
  }

  /** Path of the state file (for logs and diagnostics). */
  get path(): string {
    return this.#path
  }

  /** The state as last read or written by this instance; deeply frozen. */
  snapshot(): PluginState {
    return this.#state
  }

  /**
   * Bring the snapshot up to date with the file when another process replaced it since this
   * instance last read or wrote it. Cheap when nothing changed (one stat). Never takes the lock:
   * writers rename a complete file into place. Queued behind this instance's own updates, so it
   * never replaces a newer snapshot with an older one. Throws `NDRA_STATE_CORRUPT` like `open`.
   */
  refresh(): Promise<PluginState> {
    const run = this.#queue.then(() => this.#refreshNow())
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #refreshNow(): Promise<PluginState> {
    const id = await fileIdentity(this.#path)
    if (id !== this.#fileId) {
      const state = await readState(this.#path)
      this.#state = deepFreeze(state)
      this.#fileId = id
    }
    return this.#state
  }

  /** One claim's record from the last snapshot. */
  claim(uid: string): ClaimRecord | undefined {
    return Object.hasOwn(this.#state.claims, uid) ? this.#state.claims[uid] : undefined
  }

  /**
   * Apply `fn` to a mutable copy of the claims freshly read from disk under the file lock, then
   * persist the result atomically. `fn` must be synchronous and may throw to abort (nothing is
   * written); its return value is passed through. Updates of one instance run one at a time.
   * Throws `NDRA_STATE_LOCK` when the lock cannot be had in time and `NDRA_STATE_CORRUPT` when the
   * file on disk is not usable.
   */
  update<T>(fn: (claims: Record<string, ClaimRecord>) => T): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new DriverError('NDRA_SHUTTING_DOWN', 'state store is closed'))
    }
    const called = performance.now()
    const run = this.#queue.then(() => this.#updateLocked(fn, called))
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** Wait for queued updates to finish and refuse new ones. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#queue
  }

  async #updateLocked<T>(
    fn: (claims: Record<string, ClaimRecord>) => T,
    called: number,
  ): Promise<T> {
    const dequeued = performance.now()
    const lease = await this.#acquire()
    const locked = performance.now()
    try {
      const current = await readState(this.#path)
      const claims = structuredClone(current.claims) as Record<string, ClaimRecord>
      const result = fn(claims)
      if (isThenable(result)) {
        throw new DriverError('NDRA_INTERNAL', 'state update callback must be synchronous')
      }
      const next = { ...current, claims }
      const before = encodeState(current)
      const text = encodeState(next)
      if (text !== before) {
        // Check what we are about to persist: a bad record must fail this update, not the next start.
        try {
          checkStateDocument(JSON.parse(text), this.#path)
        } catch (err: unknown) {
          throw new DriverError('NDRA_INTERNAL', `refusing to write state: ${errorMessage(err)}`, {
            cause: err,
          })
        }
        if (lease.compromised !== undefined) throw lease.compromised
        await writeFileAtomic(this.#path, text, { mode: STATE_FILE_MODE })
      }
      this.#fileId = await fileIdentity(this.#path)
      this.#state = deepFreeze(JSON.parse(text) as PluginState)
      const written = performance.now()
      await lease.release()
      this.#observer?.observeUpdate({
        queue: (dequeued - called) / 1000,
        lock: (locked - dequeued) / 1000,
        write: (written - locked) / 1000,
        total: (performance.now() - called) / 1000,
      })
      return result
    } catch (err: unknown) {
      await lease.release()
      throw err
    }
  }

  /** Take the cross-process lock, retrying with capped backoff until the deadline. */
  async #acquire(): Promise<{ release: () => Promise<void>; compromised?: DriverError }> {
    const deadline = Date.now() + this.#lockTimeoutMs
    let delay = RETRY_FIRST_MS
    const lease: { release: () => Promise<void>; compromised?: DriverError } = {
      release: () => Promise.resolve(),
    }
    for (;;) {
      try {
        const release = await lock(this.#path, {
          lockfilePath: this.#lockPath,
          realpath: false,
          stale: this.#lockStaleMs,
          retries: 0,
          onCompromised: (err: Error) => {
            lease.compromised = new DriverError(
              'NDRA_STATE_LOCK',
              `lost the state lock ${this.#lockPath}: ${err.message}`,
              { cause: err },
            )
            this.#logger.error({ err, lock: this.#lockPath }, 'state lock compromised')
          },
        })
        lease.release = () => this.#release(release)
        return lease
      } catch (err: unknown) {
        if (!isErrno(err, 'ELOCKED')) {
          throw new DriverError(
            'NDRA_STATE_LOCK',
            `cannot lock ${this.#lockPath}: ${errorMessage(err)}`,
            {
              cause: err,
            },
          )
        }
        if (Date.now() + delay > deadline) {
          throw new DriverError(
            'NDRA_STATE_LOCK',
            `state lock ${this.#lockPath} still held by another process after ${this.#lockTimeoutMs} ms`,
            { cause: err },
          )
        }
      }
      await sleep(delay * (0.5 + Math.random()))
      delay = Math.min(delay * 2, RETRY_MAX_MS)
    }
  }

  async #release(release: () => Promise<void>): Promise<void> {
    try {
      await release()
    } catch (err: unknown) {
      // The lock was already taken over (compromised) or removed; the next update re-locks.
      this.#logger.warn({ err, lock: this.#lockPath }, 'releasing state lock failed')
    }
  }
}

/** `ino:size:mtimeNs` of the file, or undefined when it does not exist. */
async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path, { bigint: true })
    return `${st.ino}:${st.size}:${st.mtimeNs}`
  } catch (err: unknown) {
    if (isErrno(err, 'ENOENT')) return undefined
    throw new DriverError(
      'NDRA_STATE_CORRUPT',
      `cannot stat state file ${path}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    )
  }
}

/** Read and decode the state file; a missing file is the empty state. */
async function readState(path: string): Promise<PluginState> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: unknown) {
    if (isErrno(err, 'ENOENT')) return emptyState()
    throw new DriverError(
      'NDRA_STATE_CORRUPT',
      `cannot read state file ${path}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    )
  }
  return decodeState(text, path)
}
