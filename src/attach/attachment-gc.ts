/**
 * Garbage collection of CNI attachments at recovery (ARCHITECTURE step 8): detach claims that are
 * no longer valid, DEL result-cache entries made by this driver (marked with the `NDRA_CLAIM_UID`
 * CNI arg, on a network whose name the driver derived: `ndra.…`) for claims the ledger no longer
 * knows, and run CNI GC for the `ndra.…` networks of the remaining claims. Nothing of another
 * network is ever touched: the cache directory is shared with the container runtime, and a legacy
 * record naming `cbr0` must not GC the cluster's pod network.
 */
import { isDriverNetworkName } from '../claims/network-name.js'
import { parseConfList } from '../cni/conf.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ClaimLedger, ClaimsView } from '../state/claim-ledger.js'
import type { NetnsProbe } from './attach-netns-probe.js'
import { CLAIM_UID_CNI_ARG, type AttachCacheEntry, type AttachCni } from './attachment-cni.js'
import { replyLine } from './hook-server.js'

/** Summary of a garbage-collection pass. */
export interface GarbageCollectReport {
  readonly detachedClaims: readonly string[]
  readonly deletedCacheEntries: readonly string[]
  readonly errors: readonly string[]
}

/** Options of {@link AttachmentGc}. */
export interface AttachmentGcOptions {
  readonly ledger: ClaimLedger
  readonly cni: AttachCni
  readonly probe: NetnsProbe
  /** Detaches a claim with the config its record holds (the Detacher). */
  readonly detacher: { detachClaim(claimUid: string): Promise<void> }
  readonly logger: Logger
}

/** The recovery GC of CNI attachments (recovery's `RecoveryGc`). */
export class AttachmentGc {
  readonly #o: AttachmentGcOptions

  constructor(opts: AttachmentGcOptions) {
    this.#o = opts
  }

  /**
   * Detach every recorded claim not in `validClaimUids` (with the config its record holds,
   * whatever its network's name), DEL result-cache entries this driver made on `ndra.…` networks
   * for claims the ledger does not know any more (an ADD whose record never got written, or a state
   * file lost), then run CNI GC for the `ndra.…` networks of the valid claims with every other
   * cache entry as the valid set. Entries and networks of other CNI users are never touched. The
   * caller decides what to do with the claim records themselves (drop them, remove CDI specs).
   *
   * Safe while another plugin instance works on the same node (rolling-update overlap): the cache
   * is listed BEFORE the ledger is re-read, and a claim is recorded before its first ADD, so an
   * entry whose claim is absent from that later read really is an orphan; a claim that appeared
   * since `validClaimUids` was computed was prepared by the other instance and is kept; and an
   * entry not (yet) recorded for a known claim whose network namespace is still live is left to
   * the attach that made it (it is being recorded right now, or that attach failed and its own
   * undo DEL / the kubelet's retry cleans it). CNI GC lists the cache again and DELs whatever is
   * not in the valid set, so an ADD another instance makes meanwhile would be undone: the caller
   * turns it off (`cniGc: false`) while one is live.
   */
  async garbageCollect(
    validClaimUids: Iterable<string>,
    opts: { readonly cniGc?: boolean } = {},
  ): Promise<GarbageCollectReport> {
    const valid = new Set(validClaimUids)
    const errors: string[] = []
    const known = await this.#o.ledger.refresh()
    const detachedClaims = await this.#detachInvalid(Object.keys(known), valid, errors)
    const entries = await this.#o.cni.cachedAttachments()
    const stillKnown = await this.#o.ledger.refresh()
    const keep = (uid: string): boolean =>
      stillKnown[uid] !== undefined && (valid.has(uid) || known[uid] === undefined)
    const orphans = await this.#orphans(entries, stillKnown, keep)
    const deletedCacheEntries = await this.#deleteOrphans(orphans, errors)
    if (opts.cniGc !== false) {
      const remaining = entries.filter(e => !orphans.includes(e))
      await this.#cniGc(Object.keys(stillKnown).filter(keep), stillKnown, remaining, errors)
    }
    this.#o.logger.info(
      {
        detachedClaims: detachedClaims.length,
        deletedCacheEntries: deletedCacheEntries.length,
        errors: errors.length,
      },
      'attachment garbage collection done',
    )
    return { detachedClaims, deletedCacheEntries, errors }
  }

  async #detachInvalid(
    uids: readonly string[],
    valid: ReadonlySet<string>,
    errors: string[],
  ): Promise<string[]> {
    const detached: string[] = []
    for (const uid of uids) {
      if (valid.has(uid)) continue
      try {
        await this.#o.detacher.detachClaim(uid)
        detached.push(uid)
      } catch (err: unknown) {
        errors.push(replyLine(errorMessage(err)))
      }
    }
    return detached
  }

  /** Our cache entries that no recorded attachment (or live, still-recording attach) explains. */
  async #orphans(
    entries: readonly AttachCacheEntry[],
    claims: ClaimsView,
    keep: (uid: string) => boolean,
  ): Promise<AttachCacheEntry[]> {
    const orphans: AttachCacheEntry[] = []
    for (const e of entries) {
      if (!isDriverNetworkName(e.networkName)) continue
      const uid = e.cniArgs?.find(([k]) => k === CLAIM_UID_CNI_ARG)?.[1]
      if (uid === undefined) continue
      const recorded = claims[uid]?.attachments.some(
        a => a.phase === 'attached' && a.sandboxId === e.containerId && a.ifName === e.ifName,
      )
      if (keep(uid) && recorded === true) continue
      if (
        keep(uid) &&
        e.netns !== undefined &&
        e.netns !== '' &&
        (await this.#o.probe.identify(e.netns)) !== undefined
      ) {
        this.#o.logger.info(
          { claimUID: uid, sandboxId: e.containerId, ifName: e.ifName },
          'cache entry not recorded yet and its namespace is live; left to its attach',
        )
        continue
      }
      orphans.push(e)
    }
    return orphans
  }

  async #deleteOrphans(orphans: readonly AttachCacheEntry[], errors: string[]): Promise<string[]> {
    const deleted: string[] = []
    for (const e of orphans) {
      const name = `${e.networkName}-${e.containerId}-${e.ifName}`
      try {
        const list = parseConfList(e.config)
        const id = e.netns ? await this.#o.probe.identify(e.netns) : undefined
        await this.#o.cni.del(list, {
          containerId: e.containerId,
          netns: id !== undefined && e.netns !== undefined ? e.netns : '',
          ifName: e.ifName,
          args: e.cniArgs ?? [],
          capabilityArgs: e.capabilityArgs ?? {},
        })
        deleted.push(name)
      } catch (err: unknown) {
        errors.push(`${name}: ${replyLine(errorMessage(err))}`)
      }
    }
    return deleted
  }

  /** CNI GC once per distinct `ndra.…` network of the kept claims, the other entries valid. */
  async #cniGc(
    uids: readonly string[],
    claims: ClaimsView,
    remaining: readonly AttachCacheEntry[],
    errors: string[],
  ): Promise<void> {
    const seen = new Set<string>()
    for (const uid of uids) {
      for (const plan of claims[uid]?.plans ?? []) {
        const key = JSON.stringify(plan.networkConfig)
        if (seen.has(key)) continue
        seen.add(key)
        try {
          const list = parseConfList(plan.networkConfig)
          // A record written before names were derived may name any network (even `cbr0`).
          if (!isDriverNetworkName(list.name)) continue
          const validSet = remaining
            .filter(e => e.networkName === list.name)
            .map(e => ({ containerId: e.containerId, ifName: e.ifName }))
          await this.#o.cni.gc(list, validSet)
        } catch (err: unknown) {
          errors.push(replyLine(errorMessage(err)))
        }
      }
    }
  }
}
