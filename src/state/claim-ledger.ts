/**
 * The one owner of claim records. Prepare, attach, detach, unprepare, recovery and status read and
 * change what the plugin knows about a claim only through this ledger's named transitions:
 *
 * - `prepared`     a claim's plans are recorded (before its CDI spec is written);
 * - `attached`     a CNI ADD succeeded for (request, device) in a sandbox (before the hook's reply);
 * - `attachFailed` a CNI ADD failed (and was undone) for (request, device) in a sandbox;
 * - `detached`     recorded attachments were DELeted (or were never made);
 * - `dropped`      the claim was unprepared (after its attachments and CDI spec are gone).
 *
 * Each transition is a read-modify-write of the state file under the store's cross-process lock,
 * on what the file holds at that moment, so two plugin instances sharing it (a rolling update)
 * never lose each other's writes; concurrent transitions share one write (the store's group
 * commit) and each resolves once its change is durable. The durable format is the store's (`network-dra.state/v1`, atomic, versioned);
 * the ledger adds the rules: one attachment record per (request, device), an attachment always
 * belongs to a recorded plan, an attached record carries its CNI result and a failed one its error,
 * and every change is stamped by one clock.
 *
 * Reads come from the last snapshot. Another instance may have changed the file since, so every
 * decision that depends on a record first calls `refresh()` (cheap: one stat when nothing changed).
 */
import { sameAllocation } from '../attach/attachment-plan.js'
import type { Logger } from '../logger.js'
import { StateStore, type StateUpdateObserver } from './store.js'
import type { AttachmentRecord, ClaimRecord } from './state-types.js'

/** All recorded claims by UID, as last read or written; deeply frozen. */
export type ClaimsView = Readonly<Record<string, ClaimRecord>>

/** What prepare knows about a claim; the ledger adds the (empty) attachments and the time. */
export type PreparedClaim = Omit<ClaimRecord, 'attachments' | 'preparedAt'>

/** Where an attachment is (or was to be) made; the ledger adds phase, result or error, and time. */
export type AttachmentTarget = Omit<AttachmentRecord, 'phase' | 'result' | 'error' | 'updatedAt'>

/** What names one attachment record: (request, device, share) in one sandbox. */
export type AttachmentKey = Pick<AttachmentRecord, 'request' | 'device' | 'shareID' | 'sandboxId'>

/** Options of {@link ClaimLedger.open}. */
export interface ClaimLedgerOptions {
  /** State directory (created 0700 if missing), e.g. `/var/lib/network-dra`. */
  readonly dir: string
  readonly logger?: Logger
  /** How long one transition waits for the file lock before failing with `NDRA_STATE_LOCK`. */
  readonly lockTimeoutMs?: number
  /** See `StateStoreOptions.lockStaleMs`. */
  readonly lockStaleMs?: number
  /** Wall clock for `preparedAt` / `updatedAt`; injected for tests. */
  readonly now?: () => Date
  /** Told how long each state update waited and took (see `StateStoreOptions.observer`). */
  readonly observer?: StateUpdateObserver
}

function samePlanSlot(
  a: Pick<AttachmentRecord, 'request' | 'device' | 'shareID'>,
  b: typeof a,
): boolean {
  return sameAllocation(a, b)
}

function sameAttachment(a: AttachmentKey, b: AttachmentKey): boolean {
  return samePlanSlot(a, b) && a.sandboxId === b.sandboxId
}

/** Claim records with named transitions over the durable, lock-protected state file. */
export class ClaimLedger {
  readonly #store: StateStore
  readonly #now: () => Date

  private constructor(store: StateStore, now: () => Date) {
    this.#store = store
    this.#now = now
  }

  /**
   * Open the state file (a missing one is empty). A corrupt file or one of an unknown apiVersion
   * throws `NDRA_STATE_CORRUPT`: the plugin never forgets attachments it must clean up.
   */
  static async open(opts: ClaimLedgerOptions): Promise<ClaimLedger> {
    const store = await StateStore.open({
      dir: opts.dir,
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
      ...(opts.lockTimeoutMs !== undefined ? { lockTimeoutMs: opts.lockTimeoutMs } : {}),
      ...(opts.lockStaleMs !== undefined ? { lockStaleMs: opts.lockStaleMs } : {}),
      ...(opts.observer !== undefined ? { observer: opts.observer } : {}),
    })
    return new ClaimLedger(store, opts.now ?? (() => new Date()))
  }

  /** Path of the state file (for logs and diagnostics). */
  get path(): string {
    return this.#store.path
  }

  /** One claim's record from the last snapshot. */
  claim(uid: string): ClaimRecord | undefined {
    return this.#store.claim(uid)
  }

  /** Every claim from the last snapshot. */
  claims(): ClaimsView {
    return this.#store.snapshot().claims
  }

  /**
   * Re-read the file when another process replaced it since this instance last read or wrote it,
   * and return every claim. Throws `NDRA_STATE_CORRUPT` like `open`.
   */
  async refresh(): Promise<ClaimsView> {
    return (await this.#store.refresh()).claims
  }

  /**
   * Record a freshly prepared claim with no attachments. When the file already holds the claim
   * (another instance prepared it since this one last looked), that record is kept, attachments
   * and all, and returned: prepare is deterministic, so it answers the same devices.
   */
  prepared(claim: PreparedClaim): Promise<ClaimRecord> {
    const record: ClaimRecord = {
      ...claim,
      attachments: [],
      preparedAt: this.#now().toISOString(),
    }
    return this.#store.update(claims => {
      const existing = claims[claim.uid]
      if (existing !== undefined) return existing
      claims[claim.uid] = record
      return record
    })
  }

  /**
   * Record a successful CNI ADD, replacing whatever was recorded for its (request, device).
   * Returns the record, or undefined when the claim (or its plan for that device) is no longer
   * recorded: it was unprepared meanwhile, and the caller must undo the ADD.
   */
  attached(
    claimUid: string,
    target: AttachmentTarget,
    result: NonNullable<AttachmentRecord['result']>,
  ): Promise<AttachmentRecord | undefined> {
    return this.#putAttachment(claimUid, {
      ...target,
      phase: 'attached',
      result,
      updatedAt: this.#now().toISOString(),
    })
  }

  /**
   * Record a failed CNI ADD (already undone with DEL) with its one-line error, replacing whatever
   * was recorded for its (request, device). Undefined when the claim is no longer recorded.
   */
  attachFailed(
    claimUid: string,
    target: AttachmentTarget,
    error: string,
  ): Promise<AttachmentRecord | undefined> {
    return this.#putAttachment(claimUid, {
      ...target,
      phase: 'failed',
      error,
      updatedAt: this.#now().toISOString(),
    })
  }

  /**
   * Forget attachments that were DELeted (or whose DEL is given up). Only the records of exactly
   * these (request, device, sandbox) go: a newer attachment of the same device stays. Unknown
   * claim or attachment: nothing to do.
   */
  async detached(claimUid: string, attachments: readonly AttachmentKey[]): Promise<void> {
    if (attachments.length === 0) return
    await this.#store.update(claims => {
      const c = claims[claimUid]
      if (c === undefined) return
      const kept = c.attachments.filter(x => !attachments.some(d => sameAttachment(d, x)))
      if (kept.length !== c.attachments.length) claims[claimUid] = { ...c, attachments: kept }
    })
  }

  /** Forget an unprepared claim. Returns whether it was recorded. */
  dropped(claimUid: string): Promise<boolean> {
    return this.#store.update(claims => {
      if (claims[claimUid] === undefined) return false
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the map is keyed by claim UID
      delete claims[claimUid]
      return true
    })
  }

  /** Wait for queued transitions to finish and refuse new ones (`NDRA_SHUTTING_DOWN`). */
  close(): Promise<void> {
    return this.#store.close()
  }

  #putAttachment(
    claimUid: string,
    record: AttachmentRecord,
  ): Promise<AttachmentRecord | undefined> {
    return this.#store.update(claims => {
      const c = claims[claimUid]
      if (c === undefined || !c.plans.some(p => samePlanSlot(p, record))) return undefined
      const rest = c.attachments.filter(a => !samePlanSlot(a, record))
      claims[claimUid] = { ...c, attachments: [...rest, record] }
      return record
    })
  }
}
