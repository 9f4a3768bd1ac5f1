// Invariant: recovery GC detaches claims no longer valid, DELs only this driver's orphan cache
// entries (marked NDRA_CLAIM_UID, on a derived `ndra.…` network), runs CNI GC only for derived
// networks with every other entry valid, and never undoes what another live instance is doing.
// The claim records are the real ClaimLedger on a temporary directory (fixtures/attach-rig.ts).
import t from 'tap'
import { CLAIM_UID_CNI_ARG } from '../../../src/attach/attachment-cni.js'
import { OURS_0, claim, ours, plan, pod, record, rig, seed } from './fixtures/attach-rig.js'

t.test(
  'garbageCollect: detaches invalid claims, DELs our orphan cache entries only, GCs the rest',
  async t => {
    const p = pod('sb1', 'u1')
    const r = await rig(
      t,
      [claim('keep', [ours(0)], [record(p)]), claim('gone', [ours(1)], [record(p, 'attached', 1)])],
      {},
    )
    const config = new TextEncoder().encode(JSON.stringify(ours(0).networkConfig))
    r.cni.cache = [
      {
        containerId: 'sb1',
        ifName: 'net1',
        networkName: OURS_0,
        netns: '',
        config,
        cniArgs: [[CLAIM_UID_CNI_ARG, 'keep']],
        capabilityArgs: {},
      },
      {
        containerId: 'sb9',
        ifName: 'net1',
        networkName: OURS_0,
        netns: '/run/netns/x',
        config,
        cniArgs: [[CLAIM_UID_CNI_ARG, 'lost']],
        capabilityArgs: {},
      },
      {
        containerId: 'other',
        ifName: 'eth0',
        networkName: OURS_0,
        netns: '',
        config,
        cniArgs: [['K8S_POD_NAME', 'x']],
        capabilityArgs: {},
      },
    ]
    const report = await r.gc.garbageCollect(['keep'])
    t.same(report.detachedClaims, ['gone'])
    t.same(report.deletedCacheEntries, [`${OURS_0}-sb9-net1`])
    t.same(report.errors, [])
    t.same(r.cni.ops(), ['del:sb1', 'del:sb9', 'gc:'])
    t.equal(r.cni.calls[0]?.network, 'ndra.ns.ns.net-1')
    t.equal(r.cni.calls[1]?.rt?.netns, '', 'vanished cached netns → empty')
    t.same(r.cni.calls[2]?.valid, [
      { containerId: 'sb1', ifName: 'net1' },
      { containerId: 'other', ifName: 'eth0' },
    ])
    t.same(r.ledger.claim('gone')?.attachments, [])
    t.equal(r.ledger.claim('keep')?.attachments.length, 1)
  },
)

// Invariant: garbage collection during an overlap never undoes another instance's work: a claim
// it prepared after `validClaimUids` was computed is kept, an entry not yet recorded whose netns is
// live is left alone, and CNI GC is skipped when asked (a peer is live).
t.test('garbageCollect is safe while another instance works', async t => {
  const live = pod('sb1', 'u1')
  // A network whose name the driver derived: GC only ever touches those.
  const dplan = {
    ...plan(0),
    networkConfig: { ...plan(0).networkConfig, name: 'ndra.class.net-0' },
  }
  const r = await rig(t, [claim('old', [dplan], [record(live)])], {})
  r.probe.ids.set(live.netns, live.netnsId)
  const fresh = pod('sb2', 'u2')
  r.probe.ids.set(fresh.netns, fresh.netnsId)
  const config = new TextEncoder().encode(JSON.stringify(dplan.networkConfig))
  const entry = (containerId: string, uid: string, netns: string) => ({
    containerId,
    ifName: 'net1',
    networkName: 'ndra.class.net-0',
    netns,
    config,
    cniArgs: [[CLAIM_UID_CNI_ARG, uid]] as [string, string][],
    capabilityArgs: {},
  })
  r.cni.cache = [
    entry('sb1', 'old', live.netns),
    // ADD by the peer for a claim it prepared after our valid list was made, recorded already.
    entry('sb2', 'new', fresh.netns),
    // ADD by the peer for a known claim, not recorded yet, netns live.
    entry('sb3', 'old', fresh.netns),
    // A dead sandbox of a known claim, never recorded: a real orphan.
    entry('sb4', 'old', '/run/netns/gone'),
  ]
  // The peer prepares and attaches 'new' while GC runs (after the caller computed its list).
  const entries = r.cni.cache
  r.cni.cachedAttachments = async () => {
    await seed(r.peer, claim('new', [dplan], [record(fresh)]))
    return entries
  }
  const report = await r.gc.garbageCollect(['old'], { cniGc: false })
  t.same(report.detachedClaims, [], "the peer's new claim is not detached")
  t.same(report.deletedCacheEntries, ['ndra.class.net-0-sb4-net1'])
  t.same(r.cni.ops(), ['del:sb4'], 'no CNI GC while a peer is live')
})

t.test(
  'garbageCollect: a legacy record naming a foreign network (cbr0) and foreign cache entries are left alone',
  async t => {
    const p = pod('sb1', 'u1')
    const legacy = { ...plan(0), networkConfig: { ...plan(0).networkConfig, name: 'cbr0' } }
    const r = await rig(t, [claim('legacy', [legacy], [record(p)])], {})
    const config = new TextEncoder().encode(JSON.stringify(legacy.networkConfig))
    const entry = (containerId: string, uid: string) => ({
      containerId,
      ifName: 'eth0',
      networkName: 'cbr0',
      netns: '',
      config,
      cniArgs: [[CLAIM_UID_CNI_ARG, uid]] as [string, string][],
      capabilityArgs: {},
    })
    // One entry of the cluster network that carries our marker for an unknown claim (forged by a
    // tenant's cniArgs before NDRA_* keys were refused), one for the legacy claim itself.
    r.cni.cache = [entry('pod-a', 'lost'), entry('sb1', 'legacy')]
    const report = await r.gc.garbageCollect(['legacy'])
    t.same(report.deletedCacheEntries, [], 'no foreign cache entry DELeted')
    t.same(report.errors, [])
    t.same(r.cni.ops(), [], 'no DEL and no GC on the cbr0 network')
    t.equal(r.ledger.claim('legacy')?.attachments.length, 1, 'the legacy record is kept')
  },
)

t.test('garbageCollect: detaching a legacy record still uses its recorded network', async t => {
  const p = pod('sb1', 'u1')
  const legacy = { ...plan(0), networkConfig: { ...plan(0).networkConfig, name: 'blue' } }
  const r = await rig(t, [claim('legacy', [legacy], [record(p)])], {})
  const report = await r.gc.garbageCollect([])
  t.same(report.detachedClaims, ['legacy'])
  t.same(r.cni.ops(), ['del:sb1'])
  t.equal(r.cni.calls[0]?.network, 'blue', 'DEL ran with the recorded (underived) name')
})
