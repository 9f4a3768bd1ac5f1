// Puts a ClaimRecord built by a test into a real ClaimLedger through its transitions (prepared,
// then attached / attachFailed per attachment), so tests never write the state file's claims map
// themselves. The ledger's own clock stamps preparedAt / updatedAt. Also the one builder of a
// plain macvlan attachment plan those tests share.
import type { AttachmentPlan } from '../../src/attach/attachment-plan.js'
import type { AttachmentTarget, ClaimLedger } from '../../src/state/claim-ledger.js'
import type { ClaimRecord } from '../../src/state/state-types.js'

/** A macvlan attachment plan on pool `node-1` for `device` of `request`. */
export function macvlanPlan(device: string, request = 'net'): AttachmentPlan {
  return {
    request,
    pool: 'node-1',
    device,
    networkConfig: { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'macvlan' }] },
    ifName: 'net1',
    capabilityArgs: {},
    cniArgs: [],
  }
}

export async function seedClaim(ledger: ClaimLedger, c: ClaimRecord): Promise<void> {
  await ledger.prepared({
    uid: c.uid,
    namespace: c.namespace,
    name: c.name,
    plans: c.plans,
    cdiDeviceIds: c.cdiDeviceIds,
  })
  for (const a of c.attachments) {
    const target: AttachmentTarget = {
      sandboxId: a.sandboxId,
      podUid: a.podUid,
      podName: a.podName,
      podNamespace: a.podNamespace,
      request: a.request,
      device: a.device,
      ifName: a.ifName,
      netns: a.netns,
      ...(a.netnsId !== undefined ? { netnsId: a.netnsId } : {}),
      networkName: a.networkName,
    }
    const stored =
      a.phase === 'attached'
        ? await ledger.attached(c.uid, target, a.result ?? {})
        : await ledger.attachFailed(c.uid, target, a.error ?? '')
    if (stored === undefined) throw new Error(`seedClaim: no plan for ${a.request}/${a.device}`)
  }
}
