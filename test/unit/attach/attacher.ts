// Invariant: attach is idempotent per (claim, request, device, sandbox): one CNI ADD per sandbox,
// re-created sandboxes of the same pod are replaced, another live pod is refused, failures are
// undone with DEL and recorded, success is recorded before the reply (and a record that cannot be
// written undoes the ADD), operations on one (claim, request) never overlap. The claim records are
// the real ClaimLedger on a temporary directory (fixtures/attach-rig.ts).
import t from 'tap'
import { CLAIM_UID_CNI_ARG } from '../../../src/attach/attachment-cni.js'
import type { ResolvedPod } from '../../../src/attach/pod-resolver.js'
import { CniPluginError } from '../../../src/errors.js'
import { UID, claim, plan, pod, record, req, rig, seed, until } from './fixtures/attach-rig.js'

const signal = new AbortController().signal

t.test('fresh attach: ADD with sandbox id, CRI CNI_ARGS, recorded before the reply', async t => {
  const p = pod('sb1', 'u1')
  const r = await rig(t, [claim()], { c1: p })
  const reply = await r.attacher.attach(req('c1'), signal)
  t.equal(reply.ok, true, reply.message)
  t.equal(reply.interfaceName, 'net1')
  t.same(reply.ips, ['10.0.0.2/24'])
  t.equal(reply.mac, '02:00:00:00:00:02')
  t.same(r.cni.ops(), ['add:sb1'])
  const rt = r.cni.calls[0]?.rt
  t.same(rt, {
    containerId: 'sb1',
    netns: '/run/netns/sb1',
    ifName: 'net1',
    args: [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', 'ns'],
      ['K8S_POD_NAME', 'pod-u1'],
      ['K8S_POD_INFRA_CONTAINER_ID', 'sb1'],
      ['K8S_POD_UID', 'u1'],
      [CLAIM_UID_CNI_ARG, UID],
      ['EXTRA', 'x'],
    ],
    capabilityArgs: { mac: '02:00:00:00:01:00' },
  })
  const recs = r.ledger.claim(UID)?.attachments ?? []
  t.equal(recs.length, 1)
  t.match(recs[0], {
    phase: 'attached',
    sandboxId: 'sb1',
    netns: '/run/netns/sb1',
    netnsId: 'id-sb1',
    networkName: 'net-0',
  })
  await new Promise(res => setImmediate(res))
  t.equal(r.attached.length, 1)
  t.same(r.metrics, ['added/OK'])
  // Each step that ran is timed once, in order (no metadata sync configured: not observed).
  t.same(r.steps, ['lock', 'refresh', 'resolve', 'cni_add', 'record'])
})

t.test('podman-style pod (no uid): CNI_ARGS carry only what is known', async t => {
  const p = pod('ctr1', '')
  const r = await rig(t, [claim()], { ctr1: p })
  t.equal((await r.attacher.attach(req('ctr1'), signal)).ok, true)
  t.same(r.cni.calls[0]?.rt?.args, [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_INFRA_CONTAINER_ID', 'ctr1'],
    [CLAIM_UID_CNI_ARG, UID],
    ['EXTRA', 'x'],
  ])
})

const old = pod('sb-old', 'u1')
const idempotency = [
  {
    name: 'already attached to this sandbox → recorded result, no CNI call',
    existing: [record(pod('sb1', 'u1'))],
    container: 'c1',
    pods: { c1: pod('sb1', 'u1') },
    liveOld: true,
    ok: true,
    ops: [],
    outcome: 'reused/OK',
    ips: ['10.0.0.99/24'],
  },
  {
    name: 'older sandbox of the same pod (still live) → DEL old with its netns, ADD new',
    existing: [record(old)],
    container: 'c2',
    pods: { c2: pod('sb-new', 'u1') },
    liveOld: true,
    ok: true,
    ops: ['del:sb-old', 'add:sb-new'],
    delNetns: '/run/netns/sb-old',
    outcome: 'replaced/OK',
  },
  {
    name: 'older sandbox of the same pod, netns gone → DEL with empty netns',
    existing: [record(old)],
    container: 'c2',
    pods: { c2: pod('sb-new', 'u1') },
    liveOld: false,
    ok: true,
    ops: ['del:sb-old', 'add:sb-new'],
    delNetns: '',
    outcome: 'replaced/OK',
  },
  {
    name: 'another pod still live → refused, nothing run',
    existing: [record(old)],
    container: 'c3',
    pods: { c3: pod('sb-other', 'u2') },
    liveOld: true,
    ok: false,
    ops: [],
    code: 'NDRA_CLAIM_IN_USE',
    outcome: 'failed/NDRA_CLAIM_IN_USE',
  },
  {
    name: 'another pod, old netns gone → old attachment DELeted, new pod attached',
    existing: [record(old)],
    container: 'c3',
    pods: { c3: pod('sb-other', 'u2') },
    liveOld: false,
    ok: true,
    ops: ['del:sb-old', 'add:sb-other'],
    delNetns: '',
    outcome: 'replaced/OK',
  },
  {
    name: 'another pod, old path reused by another namespace (pid reuse) → treated as gone',
    existing: [record(old)],
    container: 'c3',
    pods: { c3: pod('sb-other', 'u2') },
    liveOld: 'recycled',
    ok: true,
    ops: ['del:sb-old', 'add:sb-other'],
    delNetns: '',
    outcome: 'replaced/OK',
  },
  {
    name: 'a failed record for this sandbox → ADD is retried',
    existing: [record(pod('sb1', 'u1'), 'failed')],
    container: 'c1',
    pods: { c1: pod('sb1', 'u1') },
    liveOld: true,
    ok: true,
    ops: ['add:sb1'],
    outcome: 'added/OK',
  },
] as const

for (const c of idempotency) {
  t.test(c.name, async t => {
    const r = await rig(t, [claim(UID, [plan(0)], [...c.existing])], c.pods)
    if (c.liveOld === false) r.probe.ids.delete(old.netns)
    else if (c.liveOld === 'recycled') r.probe.ids.set(old.netns, 'some-other-ns')
    else r.probe.ids.set(old.netns, old.netnsId)
    const reply = await r.attacher.attach(req(c.container), signal)
    t.equal(reply.ok, c.ok, reply.message)
    t.same(r.cni.ops(), c.ops)
    t.same(r.metrics, [c.outcome])
    if ('delNetns' in c) t.equal(r.cni.calls[0]?.rt?.netns, c.delNetns)
    if ('ips' in c) t.same(reply.ips, c.ips)
    const recs = r.ledger.claim(UID)?.attachments ?? []
    if (c.ok) {
      t.equal(recs.length, 1)
      t.equal(recs[0]?.phase, 'attached')
      const pods: Record<string, ResolvedPod> = c.pods
      t.equal(recs[0]?.sandboxId, pods[c.container]?.sandboxId)
    } else {
      t.match(reply.message, /a network claim serves one pod .*\[NDRA_CLAIM_IN_USE\]$/)
      t.same(recs, c.existing, 'the other pod keeps its record')
      await new Promise(res => setImmediate(res))
      t.match(r.failed, [{ code: 'NDRA_CLAIM_IN_USE', pod: { sandboxId: 'sb-other' } }])
    }
  })
}

t.test('claim not prepared / unknown device → NDRA_CLAIM_NOT_PREPARED, nothing run', async t => {
  const r = await rig(t, [claim()], { c1: pod('sb1', 'u1') })
  const a = await r.attacher.attach(req('c1', 'attachment-0', 'nope'), signal)
  t.equal(a.ok, false)
  t.match(a.message, /not prepared.*\[NDRA_CLAIM_NOT_PREPARED\]$/)
  const b = await r.attacher.attach(req('c1', 'attachment-7'), signal)
  t.match(b.message, /no prepared device attachment-7 .*\[NDRA_CLAIM_NOT_PREPARED\]$/)
  t.same(r.cni.ops(), [])
})

t.test('pod resolve failure is reported with its code', async t => {
  const r = await rig(t, [claim()], {})
  const a = await r.attacher.attach(req('unknown'), signal)
  t.match(a.message, /\[NDRA_POD_RESOLVE\]$/)
  t.same(r.cni.ops(), [])
})

t.test('failed ADD: DEL undoes it, failure recorded, one-line CNI error returned', async t => {
  const r = await rig(t, [claim()], { c1: pod('sb1', 'u1') })
  r.cni.failAdd = new CniPluginError({
    cniCode: 7,
    msg: 'failed to lookup master "nope"',
    details: 'Link not found\nsecond line',
    pluginType: 'macvlan',
    networkName: 'net-0',
    op: 'add',
  })
  const reply = await r.attacher.attach(req('c1'), signal)
  t.equal(reply.ok, false)
  t.equal(
    reply.message,
    'plugin type="macvlan" name="net-0" failed (add): failed to lookup master "nope"; Link not found second line [NDRA_CNI_PLUGIN]',
  )
  t.same(r.cni.ops(), ['add:sb1', 'del:sb1'])
  t.equal(r.cni.calls[1]?.rt?.netns, '/run/netns/sb1')
  t.match(r.ledger.claim(UID)?.attachments, [
    { phase: 'failed', sandboxId: 'sb1', error: /failed to lookup master/ },
  ])
  await new Promise(res => setImmediate(res))
  t.match(r.failed, [{ code: 'NDRA_CNI_PLUGIN', claimName: `claim-${UID}` }])
  t.same(r.metrics, ['failed/NDRA_CNI_PLUGIN'])
  t.same(r.steps, ['lock', 'refresh', 'resolve', 'cni_add'], 'a failed ADD is timed too')
  r.steps.length = 0
  // The next container of the same sandbox retries.
  const again = await r.attacher.attach(req('c1'), signal)
  t.equal(again.ok, true)
  t.same(r.cni.ops(), ['add:sb1', 'del:sb1', 'add:sb1'])
})

const leftover = (): CniPluginError =>
  new CniPluginError({
    cniCode: 999,
    msg: 'failed to rename macvlan to "net1": file exists',
    pluginType: 'macvlan',
    networkName: 'net-0',
    op: 'add',
  })
for (const c of [
  {
    name: 'ADD meets the leftover of an unrecorded ADD → undo DEL, one retry, attached',
    errors: [leftover()],
    ok: true,
    ops: ['add:sb1', 'del:sb1', 'add:sb1'],
    phase: 'attached',
  },
  {
    name: 'the retry fails the same way → undone again, failure recorded, no third ADD',
    errors: [leftover(), leftover()],
    ok: false,
    ops: ['add:sb1', 'del:sb1', 'add:sb1', 'del:sb1'],
    phase: 'failed',
  },
  {
    name: 'any other ADD failure is not retried',
    errors: [new Error('failed to lookup master "nope"')],
    ok: false,
    ops: ['add:sb1', 'del:sb1'],
    phase: 'failed',
  },
]) {
  t.test(c.name, async t => {
    const r = await rig(t, [claim()], { c1: pod('sb1', 'u1') })
    r.cni.failAdds = [...c.errors]
    const reply = await r.attacher.attach(req('c1'), signal)
    t.equal(reply.ok, c.ok)
    t.same(r.cni.ops(), c.ops)
    t.match(r.ledger.claim(UID)?.attachments, [{ phase: c.phase, sandboxId: 'sb1' }])
  })
}

t.test('a failing undo DEL does not hide the ADD error', async t => {
  const r = await rig(t, [claim()], { c1: pod('sb1', 'u1') })
  r.cni.failAdd = new Error('add boom')
  r.cni.failDel = new Error('del boom')
  const reply = await r.attacher.attach(req('c1'), signal)
  t.equal(reply.message, 'add boom [NDRA_INTERNAL]')
})

t.test('cannot record the result → ADD undone, hook fails (fail-closed)', async t => {
  const r = await rig(t, [claim()], { c1: pod('sb1', 'u1') })
  // Another process holds the state lock past the ledger's timeout.
  const release = await r.holdLock()
  const reply = await r.attacher.attach(req('c1'), signal)
  await release()
  t.equal(reply.ok, false)
  t.match(reply.message, /\[NDRA_STATE_LOCK\]$/)
  t.same(r.cni.ops(), ['add:sb1', 'del:sb1'])
  t.same(r.ledger.claim(UID)?.attachments, [])
})

t.test('observer failures and slowness never affect the reply', async t => {
  const never = new Promise<void>(() => undefined)
  for (const observer of [
    {
      onAttached: () => {
        throw new Error('sync')
      },
      onAttachFailed: () => {
        throw new Error('sync')
      },
    },
    {
      onAttached: () => Promise.reject(new Error('async')),
      onAttachFailed: () => Promise.reject(new Error('async')),
    },
    { onAttached: () => never, onAttachFailed: () => never },
  ]) {
    const r = await rig(t, [claim()], { c1: pod('sb1', 'u1') }, observer)
    t.equal((await r.attacher.attach(req('c1'), signal)).ok, true)
    t.equal((await r.attacher.attach(req('c1', 'attachment-0', 'nope'), signal)).ok, false)
  }
})

t.test('same (claim, request) is serialised: two containers of one sandbox → one ADD', async t => {
  const r = await rig(t, [claim()], { c1: pod('sb1', 'u1'), c2: pod('sb1', 'u1') })
  let open: () => void = () => undefined
  r.cni.addGate = new Promise(res => (open = res))
  const a = r.attacher.attach(req('c1'), signal)
  const b = r.attacher.attach(req('c2'), signal)
  await until(() => r.cni.calls.length >= 1)
  await new Promise(res => setTimeout(res, 30))
  t.equal(r.cni.calls.length, 1, 'second call waits for the first')
  open()
  const [ra, rb] = await Promise.all([a, b])
  t.equal(ra.ok && rb.ok, true)
  t.same(r.cni.ops(), ['add:sb1'])
  t.equal(r.cni.maxInFlight, 1)
  t.same(r.metrics.sort(), ['added/OK', 'reused/OK'])
})

t.test('different claims run in parallel', async t => {
  const r = await rig(t, [claim('a'), claim('b')], { c1: pod('sb1', 'u1') })
  let open: () => void = () => undefined
  r.cni.addGate = new Promise(res => (open = res))
  const a = r.attacher.attach(req('c1', 'attachment-0', 'a'), signal)
  const b = r.attacher.attach(req('c1', 'attachment-0', 'b'), signal)
  await until(() => r.cni.maxInFlight >= 2)
  t.equal(r.cni.maxInFlight, 2)
  open()
  await Promise.all([a, b])
})

// Invariant (rolling-update overlap): the hook socket moves to the new instance while the old one
// may still prepare claims; attach and detach re-read the shared state first, so a claim another
// instance prepared (or attached) since our last read is found and its attachment is reused, not
// ADDed twice, and its DEL is not skipped.
t.test('attach/detach see what another instance recorded since the last read', async t => {
  const p = pod('sb1', 'u1')
  const r = await rig(t, [], { c1: p })
  await seed(r.peer, claim())
  t.equal(r.ledger.claim(UID), undefined, 'not visible before a refresh')
  const first = await r.attacher.attach(req('c1'), signal)
  t.equal(first.ok, true, first.message)
  t.same(r.cni.ops(), ['add:sb1'])
  // The other instance (re)attached a second claim's pod meanwhile: a restart must reuse it.
  const q = pod('sb2', 'u2')
  r.resolver.pods.set('c2', q)
  r.probe.ids.set(q.netns, q.netnsId)
  await seed(r.peer, claim('claim-2', [plan(0)], [record(q)]))
  const again = await r.attacher.attach(req('c2', 'attachment-0', 'claim-2'), signal)
  t.match(again.message, /already attached/)
  t.same(r.cni.ops(), ['add:sb1'], 'no second ADD')
  // Its unprepare lands here: the DEL runs.
  await seed(r.peer, claim('claim-3', [plan(0)], [record(pod('sb3', 'u3'))]))
  await r.detacher.detachClaim('claim-3')
  t.same(r.cni.ops(), ['add:sb1', 'del:sb3'])
})

t.test('metadata files are rewritten before the reply, from the ledger record', async t => {
  const cases: readonly { name: string; fail?: boolean; syncFails?: boolean; want: string[] }[] = [
    { name: 'attached', want: ['attached'] },
    { name: 'failed ADD', fail: true, want: ['failed'] },
    { name: 'a failing rewrite does not fail the attach', syncFails: true, want: ['attached'] },
  ]
  for (const c of cases) {
    const seen: string[] = []
    let replied = false
    const r = await rig(t, [claim()], { c1: pod('sb1', 'u1') }, undefined, {
      sync: async rec => {
        t.notOk(replied, `${c.name}: before the reply`)
        seen.push(...rec.attachments.map(a => a.phase))
        if (c.syncFails) throw new Error('disk full')
      },
    })
    if (c.fail) r.cni.failAdd = new Error('boom')
    const reply = await r.attacher.attach(req('c1'), signal)
    replied = true
    t.equal(reply.ok, !c.fail, c.name)
    t.same(seen, c.want, c.name)
    t.same(
      r.ledger.claim(UID)?.attachments.map(a => a.phase),
      c.want,
      `${c.name}: the file saw what the ledger holds`,
    )
  }
})

t.test('two shares of one shared device in one claim: separate ADDs, records and DELs', async t => {
  // Invariant: shares of a shared host link are keyed by shareID (the hook's --device carries
  // `<device>.<shareID>`): each share finds its own plan, gets its own record, and detach DELs both.
  const A = '0b3f6a3e-2c1d-4a7e-9f00-000000000001'
  const B = '0b3f6a3e-2c1d-4a7e-9f00-000000000002'
  const share = (i: number, shareID: string): ReturnType<typeof plan> => ({
    ...plan(i),
    device: 'host-ndra-shared0',
    hostInterface: 'ndra-shared0',
    shareID,
  })
  const p = pod('sb1', 'u1')
  const r = await rig(t, [claim(UID, [share(0, A), share(1, B)])], { c1: p })
  const a = await r.attacher.attach(req('c1', `host-ndra-shared0.${A}`), signal)
  const b = await r.attacher.attach(req('c1', `host-ndra-shared0.${B}`), signal)
  t.ok(a.ok && b.ok, `${a.message} ${b.message}`)
  t.same(
    r.cni.calls.map(c => `${c.op}:${c.network}:${c.rt?.ifName ?? ''}`),
    ['add:net-0:net1', 'add:net-1:net2'],
  )
  t.same(
    (r.ledger.claim(UID)?.attachments ?? []).map(x => [x.device, x.shareID, x.ifName]),
    [
      ['host-ndra-shared0', A, 'net1'],
      ['host-ndra-shared0', B, 'net2'],
    ],
  )
  const again = await r.attacher.attach(req('c1', `host-ndra-shared0.${A}`), signal)
  t.ok(again.ok)
  t.equal(r.cni.calls.length, 2, 'a repeated share is answered from its record')
  const bare = await r.attacher.attach(req('c1', 'host-ndra-shared0'), signal)
  t.equal(bare.ok, false, 'the bare device name matches no share')
  await r.detacher.detachClaim(UID)
  t.same(
    r.cni.calls.slice(2).map(c => `${c.op}:${c.network}`),
    ['del:net-1', 'del:net-0'],
  )
  t.same(r.ledger.claim(UID)?.attachments, [])
})
