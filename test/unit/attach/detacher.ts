// Invariant: detach DELs every recorded attachment in reverse plan order, with an empty CNI_NETNS
// once the netns is gone, forgets exactly what it DELeted, keeps (and fails on) an attached record
// whose DEL failed so a retry DELs it again, and never holds unprepare on a failed attachment's DEL.
// The claim records are the real ClaimLedger on a temporary directory (fixtures/attach-rig.ts).
import t from 'tap'
import { UID, claim, plan, pod, record, rig } from './fixtures/attach-rig.js'

t.test('detach: reverse plan order, vanished netns tolerated, records dropped', async t => {
  const p = pod('sb1', 'u1')
  const recs = [record(p, 'attached', 0), record(p, 'attached', 1)]
  const r = await rig(t, [claim(UID, [plan(0), plan(1)], recs)], {})
  r.probe.ids.set(p.netns, p.netnsId)
  await r.detacher.detachClaim(UID)
  t.same(
    r.cni.calls.map(c => `${c.op}:${c.network}:${c.rt?.ifName ?? ''}:${c.rt?.netns ?? ''}`),
    ['del:net-1:net2:/run/netns/sb1', 'del:net-0:net1:/run/netns/sb1'],
  )
  t.same(r.ledger.claim(UID)?.attachments, [])
  t.same(r.metrics, ['detach/OK/2'])

  const r2 = await rig(t, [claim(UID, [plan(0)], [record(p)])], {})
  await r2.detacher.detachClaim(UID)
  t.equal(r2.cni.calls[0]?.rt?.netns, '', 'gone netns → empty CNI_NETNS')
  t.same(r2.ledger.claim(UID)?.attachments, [])
})

t.test(
  'detach: a failed DEL keeps its record and fails; retry succeeds; unknown claim is fine',
  async t => {
    const p = pod('sb1', 'u1')
    const r = await rig(
      t,
      [claim(UID, [plan(0), plan(1)], [record(p, 'attached', 0), record(p, 'attached', 1)])],
      {},
    )
    r.cni.failDel = new Error('del boom')
    await t.rejects(r.detacher.detachClaim(UID), { message: /del boom/ })
    t.match(r.ledger.claim(UID)?.attachments, [{ device: 'attachment-1' }])
    t.equal(r.ledger.claim(UID)?.attachments.length, 1)
    await r.detacher.detachClaim(UID)
    t.same(r.ledger.claim(UID)?.attachments, [])
    await r.detacher.detachClaim('unknown')
  },
)

t.test(
  'detach: a failing DEL of a failed attachment is best effort (no stuck unprepare)',
  async t => {
    const p = pod('sb1', 'u1')
    const r = await rig(t, [claim(UID, [plan(0)], [record(p, 'failed', 0)])], {})
    r.cni.failDel = new Error('plugin type="macvlan" name="net-0" failed (delete): Link not found')
    await r.detacher.detachClaim(UID)
    t.same(r.cni.ops(), ['del:sb1'])
    t.same(r.ledger.claim(UID)?.attachments, [])
  },
)
