/**
 * The plugin's durable record of prepared claims and their attachments (`state.json` in the
 * plugin data directory). Every change is a read-modify-write under an in-process queue plus a
 * cross-process file lock, re-reading the file under the lock, so two plugin instances on one
 * node (DaemonSet rolling update with maxSurge) never lose each other's writes; the file is
 * replaced atomically so a crash never leaves it torn. Updates that pile up while a write is in
 * flight are committed together (group commit: one lock, one re-read check, one atomic replace),
 * so a burst of claims costs a few writes, not one per change; records are kept frozen and only
 * the ones a change touches are copied and checked.
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
import type { BigIntStats } from 'node:fs'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import { lock } from 'proper-lockfile'
import { DriverError, errorMessage } from '../errors.js'
import { isErrno, writeFileAtomic } from '../fs/write-file-atomic.js'
import { silentLogger, type Logger } from '../logger.js'
import { checkClaimRecord, decodeState, emptyState, encodeState } from './state-codec.js'
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

/** One caller of `update` waiting for its batch. */
interface PendingUpdate {
  readonly fn: (claims: Record<string, ClaimRecord>) => unknown
  /** `performance.now()` at the call (queue time). */
  readonly called: number
  readonly resolve: (value: unknown) => void
  readonly reject: (reason: unknown) => void
}

/** The held cross-process lock; `compromised` is set when it was taken over meanwhile. */
interface Lease {
  release: () => Promise<void>
  compromised?: DriverError
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
  /** Updates waiting for the next batch, in call order. */
  readonly #pending: PendingUpdate[] = []
  /** Whether a batch is already chained on `#queue` (it takes every pending update when it runs). */
  #batchQueued = false
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
   * instance last read or wrote it. Never takes the lock: writers rename a complete file into
   * place. When the file is still the one behind the snapshot (one stat) the snapshot is returned
   * at once, without waiting behind this instance's own updates in flight: every update that has
   * settled is in it, and another process's write is a rename, which changes the identity. Only a
   * changed file is re-read, queued behind this instance's own updates, so it never replaces a
   * newer snapshot with an older one. Throws `NDRA_STATE_CORRUPT` like `open`.
   */
  async refresh(): Promise<PluginState> {
    if ((await fileIdentity(this.#path)) === this.#fileId) return this.#state
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
   * Apply `fn` to a copy of the claims map freshly read under the file lock, then persist the
   * result atomically. `fn` must be synchronous; it may add, replace or delete entries of the map,
   * but the records in it are frozen (a changed record is a new object), and it may throw to abort
   * (its change is discarded). Its return value is passed through.
   *
   * Updates that arrive while a write is in flight are applied together, in call order, under one
   * lock and one atomic replace (group commit): each sees the changes of the ones before it, and
   * each one's promise settles only after the write that holds its change is durable. Throws
   * `NDRA_STATE_LOCK` when the lock cannot be had in time and `NDRA_STATE_CORRUPT` when the file on
   * disk is not usable.
   */
  update<T>(fn: (claims: Record<string, ClaimRecord>) => T): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new DriverError('NDRA_SHUTTING_DOWN', 'state store is closed'))
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        fn,
        called: performance.now(),
        resolve: resolve as (value: unknown) => void,
        reject,
      })
      if (!this.#batchQueued) {
        this.#batchQueued = true
        this.#queue = this.#queue.then(() => this.#commitBatch())
      }
    })
  }

  /** Wait for queued updates to finish and refuse new ones. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#queue
  }

  /** Run every pending update under one lock and one write; never rejects (callers are told). */
  async #commitBatch(): Promise<void> {
    this.#batchQueued = false
    const batch = this.#pending.splice(0)
    const dequeued = performance.now()
    let lease: Lease
    try {
      lease = await this.#acquire()
    } catch (err: unknown) {
      for (const u of batch) u.reject(err)
      return
    }
    const locked = performance.now()
    try {
      const current = await this.#readUnderLock()
      let claims = current.claims
      const outcomes: { ok: boolean; value: unknown }[] = []
      for (const u of batch) {
        const draft: Record<string, ClaimRecord> = { ...claims }
        try {
          const value = u.fn(draft)
          if (isThenable(value)) {
            throw new DriverError('NDRA_INTERNAL', 'state update callback must be synchronous')
          }
          if (changedRecords(claims, draft, this.#path)) claims = draft
          outcomes.push({ ok: true, value })
        } catch (err: unknown) {
          outcomes.push({ ok: false, value: err })
        }
      }
      if (claims !== current.claims) {
        const next: PluginState = { ...current, claims }
        if (lease.compromised !== undefined) throw lease.compromised
        const frozen = deepFreeze(next)
        await writeFileAtomic(this.#path, encodeState(next), {
          mode: STATE_FILE_MODE,
          // From the rename on, the file is this state: a refresh() meanwhile (the directory fsync
          // still running) takes its fast path instead of re-reading what this instance wrote.
          onReplaced: st => {
            this.#fileId = identityOf(st)
            this.#state = frozen
          },
        })
      }
      const written = performance.now()
      await lease.release()
      batch.forEach((u, i) => {
        const outcome = outcomes[i] as { ok: boolean; value: unknown }
        if (outcome.ok) {
          this.#observer?.observeUpdate({
            queue: (dequeued - u.called) / 1000,
            lock: (locked - dequeued) / 1000,
            write: (written - locked) / 1000,
            total: (performance.now() - u.called) / 1000,
          })
          u.resolve(outcome.value)
        } else {
          u.reject(outcome.value)
        }
      })
    } catch (err: unknown) {
      await lease.release()
      for (const u of batch) u.reject(err)
    }
  }

  /**
   * The state on disk, under the lock: the snapshot itself when the file is still the one this
   * instance last read or wrote (one stat), else the file re-read and frozen.
   */
  async #readUnderLock(): Promise<PluginState> {
    const id = await fileIdentity(this.#path)
    if (id !== this.#fileId) {
      this.#state = deepFreeze(await readState(this.#path))
      this.#fileId = id
    }
    return this.#state
  }

  /** Take the cross-process lock, retrying with capped backoff until the deadline. */
  async #acquire(): Promise<Lease> {
    const deadline = Date.now() + this.#lockTimeoutMs
    let delay = RETRY_FIRST_MS
    const lease: Lease = {
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

/**
 * Whether `draft` (a callback's copy of `before`) differs from it. Every added or replaced record
 * is swapped in `draft` for its JSON form (what a re-read of the file gives: no `undefined`, no
 * object shared with the caller) and checked, so a bad record fails its own update, not the next
 * start (`NDRA_INTERNAL`).
 */
function changedRecords(
  before: Readonly<Record<string, ClaimRecord>>,
  draft: Record<string, ClaimRecord>,
  path: string,
): boolean {
  let changed = Object.keys(before).some(uid => !Object.hasOwn(draft, uid))
  for (const [uid, rec] of Object.entries(draft)) {
    if (Object.hasOwn(before, uid) && before[uid] === rec) continue
    changed = true
    try {
      draft[uid] = checkClaimRecord(uid, JSON.parse(JSON.stringify(rec)) as unknown, path)
    } catch (err: unknown) {
      throw new DriverError('NDRA_INTERNAL', `refusing to write state: ${errorMessage(err)}`, {
        cause: err,
      })
    }
  }
  return changed
}

/** The identity of a file's stat: `ino:size:mtimeNs`. */
function identityOf(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}`
}

/** `ino:size:mtimeNs` of the file, or undefined when it does not exist. */
async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    return identityOf(await stat(path, { bigint: true }))
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
