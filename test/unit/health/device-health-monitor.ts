// Invariant: the monitor tells subscribers the full list after every pass (also unchanged, so the
// kubelet's health timeout never expires) and at once when published devices or links change it;
// a pass probes at most maxProbesPerPass namespaces (round robin) with at most `concurrency` at a
// time; wake() runs a pass no sooner than minGapMs after the previous one; stop() ends everything.
// concerns() is true only for the published host links and the links prepared claims depend on;
// changes() only when such a link appeared, vanished or changed operstate.
import t, { type Test } from 'tap'
import { DeviceHealthMonitor } from '../../../src/health/device-health-monitor.js'
import type { NetnsView } from '../../../src/health/device-health.js'
import type { NetnsInterfaceReader } from '../../../src/health/netns-interfaces.js'
import { silentLogger } from '../../../src/logger.js'
import { ClaimLedger } from '../../../src/state/claim-ledger.js'
import type { AttachmentRecord, ClaimRecord } from '../../../src/state/state-types.js'
import { FakeClock, settle } from '../../fakes/kube-clock.js'
import { seedClaim } from '../../lib/ledger-seed.js'

const att = (i: number): AttachmentRecord => ({
  sandboxId: `sb${i}`,
  podUid: `pu${i}`,
  podName: `p${i}`,
  podNamespace: 'ns',
  request: 'net',
  device: `attachment-${i}`,
  ifName: 'net1',
  netns: `/run/netns/p${i}`,
  networkName: 'n',
  phase: 'attached',
  updatedAt: '2026-01-01T00:00:00Z',
})

const claims = (n: number): ClaimRecord[] =>
  Array.from({ length: n }, (_, i): ClaimRecord => ({
    uid: `u${i}`,
    namespace: 'ns',
    name: `c${i}`,
    plans: [
      {
        request: 'net',
        pool: 'node-1',
        device: `attachment-${i}`,
        ifName: 'net1',
        networkConfig: {},
        capabilityArgs: {},
        cniArgs: [],
      },
    ],
    cdiDeviceIds: [],
    attachments: [att(i)],
    preparedAt: '2026-01-01T00:00:00Z',
  }))

/** A real claim ledger in a temporary directory holding `n` attached claims. */
async function ledgerWith(t: Test, n: number): Promise<ClaimLedger> {
  const ledger = await ClaimLedger.open({ dir: t.testdir() })
  t.teardown(() => ledger.close())
  for (const c of claims(n)) await seedClaim(ledger, c)
  return ledger
}

class FakeReader implements NetnsInterfaceReader {
  readonly reads: string[] = []
  running = 0
  maxRunning = 0
  missing = new Set<string>()
  async read(path: string): Promise<NetnsView> {
    this.reads.push(path)
    this.running++
    this.maxRunning = Math.max(this.maxRunning, this.running)
    await new Promise(r => setImmediate(r))
    this.running--
    return {
      kind: 'seen',
      interfaces: new Map(this.missing.has(path) ? [] : [['net1', { state: 'up', addresses: [] }]]),
    }
  }
}

const setup = async (
  t: Test,
  n: number,
  over: { maxProbesPerPass?: number; concurrency?: number } = {},
) => {
  const clock = new FakeClock()
  const reader = new FakeReader()
  const ledger = await ledgerWith(t, n)
  const m = new DeviceHealthMonitor({
    pool: 'node-1',
    claims: ledger,
    reader,
    clock,
    logger: silentLogger(),
    intervalMs: 10_000,
    minGapMs: 1_000,
    maxProbesPerPass: over.maxProbesPerPass ?? 10,
    concurrency: over.concurrency ?? 2,
  })
  const heard: string[][] = []
  m.subscribe(list => heard.push(list.map(d => `${d.device}:${d.health}`)))
  return {
    clock,
    reader,
    m,
    heard,
    ledger,
  }
}

t.test('reports after every pass and on device changes', async t => {
  const { clock, reader, m, heard } = await setup(t, 1)
  await m.start()
  t.same(heard, [['attachment-0:HEALTHY']], 'first pass reported')
  await clock.advance(10_000)
  t.equal(heard.length, 2, 'unchanged list re-sent after the periodic pass')
  m.setDevices(['attachment-0', 'host-eth1'], [{ name: 'eth1', state: 'up', addresses: [] }])
  t.same(heard.at(-1), ['attachment-0:HEALTHY', 'host-eth1:HEALTHY'], 'new device told at once')
  const n = heard.length
  m.setDevices(['attachment-0', 'host-eth1'], [{ name: 'eth1', state: 'up', addresses: [] }])
  t.equal(heard.length, n, 'same devices: nothing told outside a pass')
  m.setDevices(['attachment-0', 'host-eth1'], [{ name: 'eth1', state: 'down', addresses: [] }])
  t.same(heard.at(-1), ['attachment-0:HEALTHY', 'host-eth1:UNHEALTHY'], 'link down told at once')
  reader.missing.add('/run/netns/p0')
  await clock.advance(10_000)
  t.same(heard.at(-1), ['attachment-0:UNHEALTHY', 'host-eth1:UNHEALTHY'], 'probe result used')
  t.equal(m.current().length, 2)
  m.stop()
  const reads = reader.reads.length
  await clock.advance(60_000)
  t.equal(reader.reads.length, reads, 'no passes after stop')
  m.wake()
  await clock.advance(60_000)
  t.equal(reader.reads.length, reads, 'wake after stop does nothing')
})

t.test('per-pass cap with round robin, bounded concurrency', async t => {
  const { clock, reader, m } = await setup(t, 5, { maxProbesPerPass: 2, concurrency: 2 })
  await m.start()
  await clock.advance(10_000)
  await clock.advance(10_000)
  t.same(reader.reads, [
    '/run/netns/p0',
    '/run/netns/p1',
    '/run/netns/p2',
    '/run/netns/p3',
    '/run/netns/p4',
    '/run/netns/p0',
  ])
  t.equal(reader.maxRunning, 2, 'two probes at a time')
  m.stop()
})

t.test('wake respects the minimum gap and coalesces', async t => {
  const { clock, reader, m, ledger } = await setup(t, 1)
  await m.start()
  t.equal(reader.reads.length, 1)
  m.wake()
  m.wake()
  await clock.advance(500)
  t.equal(reader.reads.length, 1, 'not before minGapMs')
  await clock.advance(600)
  t.equal(reader.reads.length, 2, 'one pass for two wakes')
  await ledger.dropped('u0')
  await clock.advance(10_000)
  t.equal(reader.reads.length, 2, 'no attachments, nothing probed')
  t.same(m.current(), [], 'released claims leave the list')
  m.stop()
})

t.test(
  'a pass asked for during a pass runs right after it; listener errors are contained',
  async t => {
    const { m, reader, heard } = await setup(t, 1)
    m.subscribe(() => {
      throw new Error('listener broke')
    })
    const first = m.start()
    const second = m.pass()
    await Promise.all([first, second])
    await settle()
    t.equal(reader.reads.length, 2, 'second pass ran after the first')
    t.equal(heard.length, 2, 'other listeners still told')
    m.stop()
  },
)

t.test('reader throws become errors', async t => {
  const clock = new FakeClock()
  const m = new DeviceHealthMonitor({
    pool: 'node-1',
    claims: await ledgerWith(t, 1),
    reader: { read: () => Promise.reject(new Error('boom')) },
    clock,
    logger: silentLogger(),
    intervalMs: 10_000,
    minGapMs: 1_000,
    maxProbesPerPass: 10,
    concurrency: 1,
  })
  await m.start()
  t.same(
    m.current().map(d => [d.device, d.health, d.message]),
    [['attachment-0', 'UNKNOWN', 'cannot look into the network namespace of pod ns/p0: boom']],
  )
  const off = m.subscribe(() => undefined)
  off()
  m.stop()
})

t.test('concerns: published host links and links of prepared claims only', async t => {
  const { m, ledger } = await setup(t, 1)
  t.equal(m.concerns('eth1'), false, 'before it is published')
  m.setDevices(['attachment-0', 'host-eth1'], [{ name: 'eth1', state: 'up', addresses: [] }])
  t.equal(m.concerns('eth1'), true, 'a published host link')
  t.equal(m.concerns('veth9f3c'), false, "another pod's veth")
  const [c] = claims(1)
  await seedClaim(ledger, {
    ...(c as ClaimRecord),
    uid: 'u-macvlan',
    plans: [
      {
        request: 'net',
        pool: 'node-1',
        device: 'attachment-7',
        ifName: 'net1',
        networkConfig: { plugins: [{ type: 'macvlan', master: 'ens5' }] },
        capabilityArgs: {},
        cniArgs: [],
      },
    ],
    attachments: [],
  })
  t.equal(m.concerns('ens5'), true, "a prepared claim's macvlan parent")
  t.equal(m.concerns('veth9f3c'), false)
})

t.test('changes: a concerned link that appeared, vanished or changed state', async t => {
  const { m } = await setup(t, 1)
  m.setDevices(['attachment-0', 'host-eth1'], [{ name: 'eth1', state: 'up', addresses: [] }])
  const ev = (name: string, state: string, deleted = false) => ({ name, state, deleted })
  const seen = [
    m.changes(ev('eth1', 'up')),
    m.changes(ev('eth1', 'up')),
    m.changes(ev('eth1', 'down')),
    m.changes(ev('veth9f3c', 'up')),
    m.changes(ev('veth9f3c', 'down')),
    m.changes(ev('eth1', 'down', true)),
    m.changes(ev('eth1', 'up')),
  ]
  t.same(
    seen,
    [true, false, true, false, false, true, true],
    [
      'first event of eth1: state unknown before',
      'same state again (another child added): nothing',
      'up → down',
      "other links' events: nothing",
      '',
      'deleted',
      're-created',
    ].join('; '),
  )
})
