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
 */
import type { CdiDeviceRequest } from '../cdi/spec-writer.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ClaimRecord, PluginState } from '../state/state-types.js'
import { cdiDevicesOf, type ClaimMetadata } from './claim-metadata.js'

export interface RecoverySpecs {
  exists(claimUid: string): Promise<boolean>
  write(claimUid: string, devices: readonly CdiDeviceRequest[]): Promise<string[]>
  remove(claimUid: string): Promise<void>
  listClaimUids(): Promise<string[]>
}

export interface RecoveryGc {
  garbageCollect(validClaimUids: Iterable<string>): Promise<{
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
}

export async function recover(opts: {
  readonly state: () => PluginState
  readonly specs: RecoverySpecs
  readonly gc: RecoveryGc
  readonly logger: Logger
  /** KEP-5304 metadata files; absent when the feature is off. */
  readonly metadata?: ClaimMetadata
}): Promise<RecoveryReport> {
  const claims: Readonly<Record<string, ClaimRecord>> = opts.state().claims
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
  try {
    for (const uid of await opts.specs.listClaimUids()) {
      if (claims[uid] !== undefined) continue
      try {
        await opts.specs.remove(uid)
        specsRemoved.push(uid)
      } catch (err) {
        errors.push(`removing orphan CDI spec of claim ${uid}: ${errorMessage(err)}`)
      }
    }
  } catch (err) {
    errors.push(`listing CDI specs: ${errorMessage(err)}`)
  }
  let cacheEntriesDeleted: readonly string[] = []
  try {
    const gc = await opts.gc.garbageCollect(Object.keys(claims))
    cacheEntriesDeleted = gc.deletedCacheEntries
    errors.push(...gc.errors)
  } catch (err) {
    errors.push(`CNI garbage collection: ${errorMessage(err)}`)
  }
  const report = { specsRewritten, specsRemoved, cacheEntriesDeleted, errors }
  opts.logger.info(
    {
      preparedClaims: Object.keys(claims).length,
      specsRewritten: specsRewritten.length,
      specsRemoved: specsRemoved.length,
      cacheEntriesDeleted: cacheEntriesDeleted.length,
      errors,
    },
    'recovery done',
  )
  return report
}
