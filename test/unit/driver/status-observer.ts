// Invariant: each allocated device's claim status follows its latest attachment record (Pending
// with none, NetworkAttachFailed when failed, NetworkReady with networkData when attached); a
// failed attach also posts a pod Warning when the pod is known; a status write failure is logged,
// never thrown; an unknown claim writes nothing. The claim records are the real ClaimLedger on a
// temporary directory.
import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StatusObserver, deviceStatuses } from '../../../src/driver/status-observer.js'
import { silentLogger } from '../../../src/logger.js'
import { ClaimLedger } from '../../../src/state/claim-ledger.js'
import type { AttachmentRecord, ClaimRecord } from '../../../src/state/state-types.js'
import type { DeviceStatus } from '../../../src/status/claim-status.js'
import { macvlanPlan, seedClaim } from '../../lib/ledger-seed.js'

const plan = macvlanPlan

const att = (over: Partial<AttachmentRecord>): AttachmentRecord => ({
  sandboxId: 'sb1',
  podUid: 'pu1',
  podName: 'p1',
  podNamespace: 'ns',
  request: 'net',
  device: 'attachment-0',
  ifName: 'net1',
  netns: '/proc/1/ns/net',
  networkName: 'n',
  phase: 'attached',
  result: {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/proc/1/ns/net' }],
    ips: [{ address: '10.0.0.5/24', interface: 0 }],
  },
  updatedAt: '2026-01-01T00:00:00Z',
  ...over,
})

/** A failed attachment: no CNI result. */
const failed = (over: Partial<AttachmentRecord> = {}): AttachmentRecord =>
  Object.fromEntries(
    Object.entries(att({ phase: 'failed', ...over })).filter(([k]) => k !== 'result'),
  ) as unknown as AttachmentRecord

const record = (attachments: AttachmentRecord[]): ClaimRecord => ({
  uid: 'u1',
  namespace: 'ns',
  name: 'c1',
  plans: [plan('attachment-0')],
  cdiDeviceIds: ['x'],
  attachments,
  preparedAt: '2026-01-01T00:00:00Z',
})

t.test('deviceStatuses', async t => {
  const cases = [
    { name: 'no attachment yet', atts: [], want: { ready: false, reason: 'Pending' } },
    {
      name: 'failed',
      atts: [failed({ error: 'macvlan: no master' })],
      want: { ready: false, reason: 'NetworkAttachFailed', message: 'macvlan: no master' },
    },
    {
      name: 'latest record wins (failed then attached)',
      atts: [
        failed({ updatedAt: '2026-01-01T00:00:00Z' }),
        att({ updatedAt: '2026-01-01T00:00:05Z' }),
      ],
      want: { ready: true, reason: 'NetworkReady', message: 'net1 attached to pod ns/p1' },
    },
    {
      name: 'other devices are ignored',
      atts: [att({ device: 'attachment-9' })],
      want: { ready: false, reason: 'Pending' },
    },
  ]
  for (const c of cases) {
    const [st] = deviceStatuses(record(c.atts))
    t.match(st, { pool: 'node-1', device: 'attachment-0', ...c.want }, c.name)
  }
  const [ready] = deviceStatuses(record([att({})]))
  t.same(ready?.networkData?.ips, ['10.0.0.5/24'])
  t.equal(ready?.networkData?.interfaceName, 'net1')
})

/** A real ledger (and a peer instance on the same file) holding `claims`. */
t.test('deviceStatuses: shares of one device are separate entries keyed by shareID', async t => {
  // Invariant: two shares of a shared host link never take each other's attachment; each status
  // entry carries its shareID, an exclusive device's entry none.
  const shareA = '0b3f6a3e-2c1d-4a7e-9f00-000000000001'
  const shareB = '0b3f6a3e-2c1d-4a7e-9f00-000000000002'
  const shared = (shareID: string) => ({ ...plan('host-ndra-shared0'), shareID })
  const rec: ClaimRecord = {
    ...record([att({ device: 'host-ndra-shared0', shareID: shareB })]),
    plans: [shared(shareA), shared(shareB)],
  }
  const [a, b] = deviceStatuses(rec)
  t.match(a, { device: 'host-ndra-shared0', shareID: shareA, ready: false, reason: 'Pending' })
  t.match(b, { device: 'host-ndra-shared0', shareID: shareB, ready: true, reason: 'NetworkReady' })
  const [plain] = deviceStatuses(record([att({})]))
  t.notOk(plain && 'shareID' in plain, 'no shareID key for an exclusive device')
})

async function ledgers(t: Test, claims: readonly ClaimRecord[]) {
  const dir = await mkdtemp(join(tmpdir(), 'ndra-status-'))
  const ledger = await ClaimLedger.open({ dir })
  const peer = await ClaimLedger.open({ dir })
  t.teardown(async () => {
    await ledger.close()
    await peer.close()
    await rm(dir, { recursive: true, force: true })
  })
  for (const c of claims) await seedClaim(ledger, c)
  return { ledger, peer }
}

/** The attachment `a` of claim u1, recorded by `ledger` (`prepared` keeps the existing claim). */
function recordAttached(ledger: ClaimLedger, a: AttachmentRecord): Promise<void> {
  return seedClaim(ledger, record([a]))
}

async function observer(
  t: Test,
  claims: readonly ClaimRecord[],
  writeFails = false,
  reconcileAnswer: (uid: string) => Promise<'unchanged' | 'written' | 'gone'> = async () =>
    'unchanged',
) {
  const writes: unknown[] = []
  const reconciles: { uid: string; devices: readonly DeviceStatus[] }[] = []
  const events: unknown[] = []
  const warnings: unknown[] = []
  const logger = silentLogger()
  logger.warn = (o: unknown) => {
    warnings.push(o)
  }
  const { ledger } = await ledgers(t, claims)
  const obs = new StatusObserver({
    claims: ledger,
    writer: {
      write: async (ref, devices) => {
        if (writeFails) throw new Error('apiserver down')
        writes.push({ ref, devices })
      },
      reconcile: async (ref, want) => {
        reconciles.push({ uid: ref.uid, devices: (await want()) ?? [] })
        return reconcileAnswer(ref.uid)
      },
    },
    events: {
      attachFailed: async (pod, ev) => {
        events.push({ pod, ev })
      },
    },
    logger,
  })
  return { obs, writes, events, warnings, reconciles }
}

const base = {
  claimUid: 'u1',
  claimNamespace: 'ns',
  claimName: 'c1',
  request: 'net',
  device: 'attachment-0',
}
const pod = { sandboxId: 'sb1', podUid: 'pu1', podName: 'p1', podNamespace: 'ns' }

t.test('onAttached writes the claim status', async t => {
  const { obs, writes, events } = await observer(t, [record([att({})])])
  await obs.onAttached({ ...base, pod, ifName: 'net1', result: {}, interfaceName: 'net1', ips: [] })
  t.match(writes, [{ ref: { namespace: 'ns', name: 'c1', uid: 'u1' }, devices: [{ ready: true }] }])
  t.same(events, [])
})

t.test('onAttachFailed writes status and posts a pod event only for a known pod', async t => {
  const { obs, writes, events } = await observer(t, [record([failed()])])
  await obs.onAttachFailed({ ...base, pod, code: 'NDRA_CNI_PLUGIN', message: 'boom' })
  await obs.onAttachFailed({ ...base, code: 'NDRA_POD_RESOLVE', message: 'no pod' })
  t.equal(writes.length, 2)
  t.same(events, [
    {
      pod: { namespace: 'ns', name: 'p1', uid: 'pu1' },
      ev: { claim: 'ns/c1', request: 'net', device: 'attachment-0', message: 'boom' },
    },
  ])
})

t.test('a failed status write is logged, not thrown; an unknown claim writes nothing', async t => {
  const failing = await observer(t, [record([])], true)
  await failing.obs.onAttached({
    ...base,
    pod,
    ifName: 'net1',
    result: {},
    interfaceName: 'net1',
    ips: [],
  })
  t.match(failing.warnings, [{ claimUID: 'u1', err: 'apiserver down' }])
  const unknown = await observer(t, [])
  await unknown.obs.onAttached({
    ...base,
    pod,
    ifName: 'net1',
    result: {},
    interfaceName: 'net1',
    ips: [],
  })
  t.same(unknown.writes, [])
})

// Invariant: shutdown can wait for the status write that follows a hook reply: drain() resolves
// only once it settled (0 left), and reports what is still pending when the time runs out.
t.test('drain waits for pending writes, bounded', async t => {
  let release: () => void = () => undefined
  const gate = new Promise<void>(r => {
    release = r
  })
  const { ledger } = await ledgers(t, [record([att({})])])
  const writes: string[] = []
  const obs = new StatusObserver({
    claims: ledger,
    writer: {
      write: async ref => {
        await gate
        writes.push(ref.uid)
      },
      reconcile: async () => 'unchanged',
    },
    events: { attachFailed: async () => undefined },
    logger: silentLogger(),
  })
  void obs.onAttached({ ...base, pod, ifName: 'net1', result: {}, interfaceName: 'net1', ips: [] })
  t.equal(obs.pending, 1)
  t.equal(await obs.drain(30), 1, 'still pending after the timeout')
  setTimeout(release, 20)
  t.equal(await obs.drain(5_000), 0, 'drained')
  t.same(writes, ['u1'])
  t.equal(obs.pending, 0)
})

// Invariant: reconcile passes every held claim with the status its record says to the writer and
// counts the outcomes; a vanished claim (404) is "gone", other failures are logged and counted.
t.test('reconcile: every held claim, outcomes counted', async t => {
  const claims = [
    record([att({})]),
    { ...record([]), uid: 'u2', name: 'c2' },
    { ...record([]), uid: 'u3', name: 'c3' },
    { ...record([]), uid: 'u4', name: 'c4' },
  ]
  const { obs, reconciles, warnings } = await observer(t, claims, false, async uid => {
    if (uid === 'u2') return 'written'
    if (uid === 'u3') throw Object.assign(new Error('not found'), { code: 404 })
    if (uid === 'u4') throw new Error('apiserver down')
    return 'unchanged'
  })
  const report = await obs.reconcile()
  t.same(report, { claims: 4, unchanged: 1, written: 1, gone: 1, failed: 1 })
  t.same(reconciles.map(r => r.uid).sort(), ['u1', 'u2', 'u3', 'u4'])
  t.match(reconciles.find(r => r.uid === 'u1')?.devices, [{ ready: true, reason: 'NetworkReady' }])
  t.match(reconciles.find(r => r.uid === 'u2')?.devices, [{ ready: false, reason: 'Pending' }])
  t.match(warnings, [{ claimUID: 'u4', err: 'apiserver down' }])
})

// Invariant: writes of one claim run one at a time and each reads the record when it runs, so the
// last write carries the latest record even if an earlier one was slow.
t.test('writes of one claim are serialised and use the latest record', async t => {
  const { ledger } = await ledgers(t, [record([])])
  const seen: string[] = []
  let active = 0
  let maxActive = 0
  let calls = 0
  let release: () => void = () => undefined
  const gate = new Promise<void>(r => {
    release = r
  })
  const obs = new StatusObserver({
    claims: ledger,
    writer: {
      write: async (_ref, devices) => {
        active++
        maxActive = Math.max(maxActive, active)
        if (calls++ === 0) await gate
        seen.push(devices[0]?.reason ?? '')
        active--
      },
      reconcile: async () => 'unchanged',
    },
    events: { attachFailed: async () => undefined },
    logger: silentLogger(),
  })
  const ev = { ...base, pod, ifName: 'net1', result: {}, interfaceName: 'net1', ips: [] }
  const first = obs.onAttached(ev)
  const second = obs.onAttached(ev)
  await new Promise(r => setTimeout(r, 10))
  // The first write is slow; the attachment is recorded while the second waits its turn.
  await recordAttached(ledger, att({}))
  release()
  await Promise.all([first, second])
  t.equal(maxActive, 1)
  t.same(seen, ['Pending', 'NetworkReady'], 'the queued write read the record when it ran')
})

// Invariant (overlap with another instance): the wanted status is derived after the claim was
// read, from the state re-read then, so an attachment the other instance recorded (and whose
// status it may already have written) is never overwritten with the older Pending state.
t.test('reconcile derives the status from the state re-read after the claim read', async t => {
  const { ledger, peer } = await ledgers(t, [record([])])
  const seen: (readonly DeviceStatus[] | undefined)[] = []
  const obs = new StatusObserver({
    claims: ledger,
    writer: {
      write: async () => undefined,
      reconcile: async (_ref, want) => {
        // The other instance records the attachment after our claim read, before the derive.
        await recordAttached(peer, att({}))
        seen.push(await want())
        return 'written'
      },
    },
    events: { attachFailed: async () => undefined },
    logger: silentLogger(),
  })
  await obs.reconcile()
  t.match(seen, [[{ ready: true, reason: 'NetworkReady' }]])
})
