/**
 * Start-up recovery (ARCHITECTURE step 8). Run once, after the state store is loaded and before the
 * kubelet or the hook can reach us:
 *  1. re-write the CDI spec of every prepared claim whose spec is missing (a reboot empties
 *     /var/run/cdi, and containers of those claims must still start);
 *  2. remove CDI specs of our kind that no prepared claim owns (a crash between spec and record);
 *  3. garbage-collect CNI attachments: DEL result-cache entries this driver made for claims or
 *     sandboxes it no longer records, then CNI GC per network with the valid-attachment list;
 *     only networks whose name the driver derived (`ndra.…`, claims/network-name.ts) are touched.
 * Every step logs and continues: recovery never blocks start-up on one bad entry.
 *
 * Another plugin instance may be working on the same node (the old pod of a rolling update, until
 * it is told to stop): it may prepare or unprepare claims while this runs. So the state is re-read
 * (`claims()` refreshes) after the CDI specs are listed, an orphan is a spec whose claim is absent
 * from that later read (a claim is recorded before its spec is written), and CNI GC over the whole
 * result cache is skipped while such an instance is live (`peerLive`).
 */
import type { CdiDeviceRequest } from '../cdi/spec-writer.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ClaimsView } from '../state/claim-ledger.js'
import { cdiDevicesOf, type ClaimMetadata } from './claim-metadata.js'

export interface RecoverySpecs {
  exists(claimUid: string): Promise<boolean>
  write(claimUid: string, devices: readonly CdiDeviceRequest[]): Promise<string[]>
  remove(claimUid: string): Promise<void>
  listClaimUids(): Promise<string[]>
}

export interface RecoveryGc {
  garbageCollect(
    validClaimUids: Iterable<string>,
    opts?: { readonly cniGc?: boolean },
  ): Promise<{
    readonly detachedClaims: readonly string[]
    readonly deletedCacheEntries: readonly string[]
    readonly errors: readonly string[]
  }>
}

export interface RecoveryReport {
  readonly specsRewritten: readonly string[]
  readonly specsRemoved: readonly string[]
  readonly cacheEntriesDeleted: readonly string[]
  readonly errors: readonly string[]
  /** CNI GC was skipped because another instance was live. */
  readonly cniGcSkipped: boolean
}

/**
 * Remove CDI specs of our kind that no recorded claim owns. The specs are listed BEFORE the state
 * is re-read: a claim is recorded before its spec is written and its record dropped after its spec
 * is removed, so a listed spec whose claim is absent from the later read is an orphan even while
 * another instance prepares or unprepares claims. Run at start and with every status resync, so a
 * spec re-written by recovery while another instance unprepared its claim does not stay.
 */
export async function sweepOrphanSpecs(opts: {
  readonly claims: () => Promise<ClaimsView>
  readonly specs: Pick<RecoverySpecs, 'listClaimUids' | 'remove'>
}): Promise<{ removed: string[]; errors: string[] }> {
  const removed: string[] = []
  const errors: string[] = []
  try {
    const listed = await opts.specs.listClaimUids()
    const now = await opts.claims()
    for (const uid of listed) {
      if (now[uid] !== undefined) continue
      try {
        await opts.specs.remove(uid)
        removed.push(uid)
      } catch (err) {
        errors.push(`removing orphan CDI spec of claim ${uid}: ${errorMessage(err)}`)
      }
    }
  } catch (err) {
    errors.push(`listing CDI specs: ${errorMessage(err)}`)
  }
  return { removed, errors }
}

export async function recover(opts: {
  /** Every recorded claim, freshly re-read from the file (`ClaimLedger.refresh`). */
  readonly claims: () => Promise<ClaimsView>
  readonly specs: RecoverySpecs
  readonly gc: RecoveryGc
  readonly logger: Logger
  /** KEP-5304 metadata files; absent when the feature is off. */
  readonly metadata?: ClaimMetadata
  /** Whether another instance of the plugin is live on this node; default none. */
  readonly peerLive?: () => Promise<boolean>
}): Promise<RecoveryReport> {
  const claims = await opts.claims()
  const specsRewritten: string[] = []
  const specsRemoved: string[] = []
  const errors: string[] = []
  for (const record of Object.values(claims)) {
    try {
      if (!(await opts.specs.exists(record.uid))) {
        await opts.metadata?.prepare(record)
        await opts.specs.write(record.uid, cdiDevicesOf(record, opts.metadata?.files))
        specsRewritten.push(record.uid)
      }
    } catch (err) {
      errors.push(`re-writing CDI spec of claim ${record.uid}: ${errorMessage(err)}`)
    }
  }
  const swept = await sweepOrphanSpecs(opts)
  specsRemoved.push(...swept.removed)
  errors.push(...swept.errors)
  let cacheEntriesDeleted: readonly string[] = []
  let cniGcSkipped = false
  try {
    cniGcSkipped = (await opts.peerLive?.()) === true
    const gc = await opts.gc.garbageCollect(Object.keys(claims), { cniGc: !cniGcSkipped })
    cacheEntriesDeleted = gc.deletedCacheEntries
    errors.push(...gc.errors)
  } catch (err) {
    errors.push(`CNI garbage collection: ${errorMessage(err)}`)
  }
  const report = { specsRewritten, specsRemoved, cacheEntriesDeleted, errors, cniGcSkipped }
  opts.logger.info(
    {
      preparedClaims: Object.keys(claims).length,
      specsRewritten: specsRewritten.length,
      specsRemoved: specsRemoved.length,
      cacheEntriesDeleted: cacheEntriesDeleted.length,
      cniGcSkipped,
      errors,
    },
    'recovery done',
  )
  return report
}
