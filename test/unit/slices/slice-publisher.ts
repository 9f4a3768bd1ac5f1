// Invariant: the publisher converges the API to exactly the desired pool — ≤128 devices per
// slice, one generation with the right resourceSliceCount, owner = Node — bumps the generation
// only when content changes, deletes obsolete slices, and re-creates slices the kubelet wipes; a
// watch ended by the server (routine, every ~35 s) or by its own stop() is not a warning. An
// apiserver that drops taints or allowMultipleAllocations is noticed once and the pool converges
// without them (shared host links then as exclusive devices).
import t, { type Test } from 'tap'
import { createLogger, silentLogger } from '../../../src/logger.js'
import {
  attachmentDevices,
  exclusiveFallback,
  sharedHostLinkDevice,
  type SliceDevice,
} from '../../../src/slices/device-builder.js'
import { SlicePublisher } from '../../../src/slices/slice-publisher.js'
import type { ResourceSliceObject, SliceClient } from '../../../src/slices/slice-client.js'
import { FakeClock } from '../../fakes/kube-clock.js'
import { FakeSliceClient } from '../../fakes/kube-slice-client.js'

const D = 'network-dra.dev'
const NODE = 'node-a'

function setup(devices: SliceDevice[], opts: { max?: number } = {}) {
  const client = new FakeSliceClient()
  const clock = new FakeClock()
  const pub = new SlicePublisher({
    client,
    driverName: D,
    nodeName: NODE,
    clock,
    logger: silentLogger(),
    resyncIntervalMs: 60_000,
    reactDelayMs: 1_000,
    rewatchDelayMs: 5_000,
    ...(opts.max !== undefined ? { maxDevicesPerSlice: opts.max } : {}),
  })
  pub.setDevices(devices)
  return { client, clock, pub }
}

const slices = (c: FakeSliceClient): ResourceSliceObject[] =>
  [...c.slices.values()].sort((a, b) =>
    (a.spec.devices?.[0]?.name ?? '').localeCompare(b.spec.devices?.[0]?.name ?? ''),
  )

function checkPool(
  t: Test,
  c: FakeSliceClient,
  wantDevices: number,
  wantSlices: number,
  gen: number,
): void {
  const all = slices(c)
  t.equal(all.length, wantSlices, 'slice count')
  for (const s of all) {
    t.equal(s.spec.pool.generation, gen, 'generation')
    t.equal(s.spec.pool.resourceSliceCount, wantSlices, 'resourceSliceCount')
    t.equal(s.spec.pool.name, NODE)
    t.equal(s.spec.nodeName, NODE)
    t.equal(s.spec.driver, D)
    t.ok((s.spec.devices ?? []).length <= 128, '≤128 devices')
    t.same(s.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'Node', name: NODE, uid: 'uid-node-a', controller: true },
    ])
    t.match(s.metadata.name, /^(node-a-network-dra\.dev-|prev$)/, 'generateName or adopted')
  }
  t.equal(
    all.reduce((n, s) => n + (s.spec.devices ?? []).length, 0),
    wantDevices,
    'device total',
  )
}

t.test(
  'publishes 300 devices as 3 slices, generation 0; resync without change writes nothing',
  async t => {
    const { client, pub } = setup(attachmentDevices(300))
    await pub.sync()
    checkPool(t, client, 300, 3, 0)
    const before = client.calls.length
    await pub.sync()
    t.same(
      client.calls.slice(before),
      [`list spec.nodeName=${NODE},spec.driver=${D}`],
      'only a list',
    )
    t.equal(pub.generation, 0)
  },
)

t.test('empty pool publishes one empty slice', async t => {
  const { client, pub } = setup([])
  await pub.sync()
  checkPool(t, client, 0, 1, 0)
})

t.test('content change bumps generation, reuses slices, deletes extras', async t => {
  const { client, pub } = setup(attachmentDevices(300))
  await pub.sync()
  const names = new Set(client.slices.keys())
  pub.setDevices(attachmentDevices(100))
  await pub.sync()
  checkPool(t, client, 100, 1, 1)
  t.ok(
    [...client.slices.keys()].every(n => names.has(n)),
    'reused an existing slice',
  )
  pub.setDevices(attachmentDevices(200))
  await pub.sync()
  checkPool(t, client, 200, 2, 2)
})

t.test('attribute-only change is a content change', async t => {
  const { client, pub } = setup([{ name: 'host-x', attributes: { state: { string: 'up' } } }])
  await pub.sync()
  pub.setDevices([{ name: 'host-x', attributes: { state: { string: 'down' } } }])
  await pub.sync()
  checkPool(t, client, 1, 1, 1)
  t.same(slices(client)[0]?.spec.devices, [
    { name: 'host-x', attributes: { state: { string: 'down' } } },
  ])
})

t.test(
  'obsolete slices (old generation, foreign pool) are deleted without a bump when the top is current',
  async t => {
    const { client, pub } = setup(attachmentDevices(2))
    await pub.sync()
    const stale = (name: string, pool: string, generation: number): ResourceSliceObject => ({
      metadata: { name, uid: `uid-${name}`, resourceVersion: '1' },
      spec: {
        driver: D,
        nodeName: NODE,
        pool: { name: pool, generation, resourceSliceCount: 1 },
        devices: [],
      },
    })
    await client.create(stale('x', NODE, -1))
    client.slices.set('old', stale('old', NODE, -1))
    client.slices.set('foreign', stale('foreign', 'other-pool', 7))
    await pub.sync()
    t.equal(client.slices.size, 1)
    checkPool(t, client, 2, 1, 0)
  },
)

t.test(
  'a higher generation left by a previous instance is continued, not reused as-is',
  async t => {
    const { client, pub } = setup(attachmentDevices(2))
    client.slices.set('prev', {
      metadata: { name: 'prev', uid: 'uid-prev', resourceVersion: '1' },
      spec: {
        driver: D,
        nodeName: NODE,
        pool: { name: NODE, generation: 5, resourceSliceCount: 1 },
        devices: attachmentDevices(1),
      },
    })
    await pub.sync()
    checkPool(t, client, 2, 1, 6)
    t.ok(client.slices.has('prev'), 'updated in place')
  },
)

t.test(
  'kubelet wipe is noticed through the watch and slices are re-created with a newer generation',
  async t => {
    const { client, clock, pub } = setup(attachmentDevices(130))
    await pub.start()
    checkPool(t, client, 130, 2, 0)
    t.equal(client.watching(), 1)
    client.wipe(NODE)
    t.equal(client.slices.size, 0)
    await clock.advance(999)
    t.equal(client.slices.size, 0, 'debounced')
    await clock.advance(1)
    checkPool(t, client, 130, 2, 1)
    await pub.stop()
    t.equal(client.watching(), 0)
    t.equal(clock.pending(), 0, 'no timers left')
  },
)

t.test('periodic resync re-creates slices even without watch events', async t => {
  const { client, clock, pub } = setup(attachmentDevices(1))
  await pub.start()
  client.closeWatches(new Error('gone'))
  client.failNext.watch = 100 // the watch cannot come back
  client.slices.clear() // deleted without an event
  await clock.advance(60_000)
  checkPool(t, client, 1, 1, 1)
  await pub.stop()
})

t.test('a closed watch is re-opened and triggers a catch-up sync', async t => {
  const { client, clock, pub } = setup(attachmentDevices(1))
  await pub.start()
  client.closeWatches()
  t.equal(client.watching(), 0)
  client.slices.clear()
  await clock.advance(5_000)
  t.equal(client.watching(), 1)
  checkPool(t, client, 1, 1, 1)
  await pub.stop()
})

t.test('failed sync at start is retried; device changes trigger a sync', async t => {
  const { client, clock, pub } = setup(attachmentDevices(1))
  client.failNext.list = 1
  await pub.start()
  t.equal(client.slices.size, 0)
  await clock.advance(5_000)
  checkPool(t, client, 1, 1, 0)
  pub.setDevices(attachmentDevices(3))
  await clock.advance(1_000)
  checkPool(t, client, 3, 1, 1)
  await pub.stop()
})

t.test('missing node: sync fails with the API error, nothing is created', async t => {
  const { client, pub } = setup(attachmentDevices(1))
  Reflect.deleteProperty(client.nodes, NODE)
  await t.rejects(pub.sync(), { message: 'node not found' })
  t.equal(client.slices.size, 0)
})

t.test('concurrent syncs are serialised and coalesced', async t => {
  const { client, pub } = setup(attachmentDevices(1))
  await Promise.all([pub.sync(), pub.sync(), pub.sync()])
  t.equal(
    client.calls.filter(c => c.startsWith('list')).length,
    2,
    'first pass + one coalesced rerun',
  )
  checkPool(t, client, 1, 1, 0)
})

t.test('deleteAll removes every slice of the node', async t => {
  const { client, pub } = setup(attachmentDevices(200))
  await pub.sync()
  await pub.deleteAll()
  t.equal(client.slices.size, 0)
})

t.test('custom slice size', async t => {
  const { client, pub } = setup(attachmentDevices(5), { max: 2 })
  await pub.sync()
  checkPool(t, client, 5, 3, 0)
})

t.test('a watch ended by the server (routine re-watch) or by stop() is not a warning', async t => {
  const lines: { level: string; msg: string }[] = []
  const logger = createLogger('debug', {
    write: (line: string) => {
      lines.push(JSON.parse(line) as { level: string; msg: string })
    },
  })
  const client = new FakeSliceClient()
  // The real client aborts the HTTP watch on stop() and reports the abort through onClose.
  const aborting: SliceClient = {
    list: s => client.list(s),
    create: s => client.create(s),
    update: s => client.update(s),
    delete: (n, p) => client.delete(n, p),
    nodeUid: n => client.nodeUid(n),
    watch: async (selector, on, close) => {
      const h = await client.watch(selector, on, close)
      return {
        stop: () => {
          h.stop()
          close(new Error('This operation was aborted'))
        },
      }
    },
  }
  const clock = new FakeClock()
  const pub = new SlicePublisher({
    client: aborting,
    driverName: D,
    nodeName: NODE,
    clock,
    logger,
    resyncIntervalMs: 60_000,
    reactDelayMs: 1_000,
    rewatchDelayMs: 5_000,
  })
  pub.setDevices(attachmentDevices(1))
  await pub.start()
  const warnings = (): string[] =>
    lines.filter(l => l.level === 'warn' || l.level === 'error').map(l => l.msg)
  client.closeWatches(new Error('aborted due to timeout'))
  t.same(warnings(), [], 'server-side end: no warning')
  t.ok(
    lines.some(l => l.level === 'debug' && l.msg === 'resource slice watch ended; re-watching'),
    'logged at debug',
  )
  await clock.advance(5_000)
  t.equal(client.watching(), 1, 're-watched')
  await pub.stop()
  t.same(warnings(), [], 'stop(): no warning')
  t.equal(client.watching(), 0)
})

const tainted = (state: string): SliceDevice => ({
  name: 'host-x',
  attributes: { state: { string: state } },
  taints: [{ key: `${D}/link-down`, value: state, effect: 'NoSchedule' }],
})

t.test(
  'a taint added and removed is a content change; 64 devices per slice with taints',
  async t => {
    const { client, pub } = setup([...attachmentDevices(100), { name: 'host-x' }])
    await pub.sync()
    checkPool(t, client, 101, 1, 0)
    pub.setDevices([...attachmentDevices(100), tainted('down')])
    await pub.sync()
    checkPool(t, client, 101, 2, 1)
    t.ok(
      slices(client).every(s => (s.spec.devices ?? []).length <= 64),
      'the API limit with taints',
    )
    const host = slices(client)
      .flatMap(s => s.spec.devices ?? [])
      .find(d => d.name === 'host-x')
    t.same(host?.taints, [{ key: `${D}/link-down`, value: 'down', effect: 'NoSchedule' }])
    const calls = client.calls.length
    await pub.sync()
    t.equal(
      client.calls.slice(calls).filter(c => !c.startsWith('list')).length,
      0,
      'taints read back equal: no rewrite',
    )
    pub.setDevices([...attachmentDevices(100), { name: 'host-x' }])
    await pub.sync()
    checkPool(t, client, 101, 1, 2)
    t.notOk(pub.taintsDropped)
  },
)

t.test('an apiserver that drops taints is noticed once; no write loop', async t => {
  const { client, pub } = setup([tainted('down')])
  client.dropTaints = true
  await pub.sync()
  t.ok(pub.taintsDropped, 'noticed on the stored object')
  await pub.sync()
  checkPool(t, client, 1, 1, 0)
  const calls = client.calls.length
  await pub.sync()
  await pub.sync()
  t.equal(
    client.calls.slice(calls).filter(c => !c.startsWith('list')).length,
    0,
    'converged without taints',
  )
})

const sharedLink = (): SliceDevice =>
  sharedHostLinkDevice({ name: 'ndra-shared0', state: 'up', addresses: [] }, 3)

t.test('shared devices are published as they are where the apiserver keeps them', async t => {
  const { client, pub } = setup([sharedLink()])
  await pub.sync()
  t.notOk(pub.sharingDropped)
  t.same(slices(client)[0]?.spec.devices, [sharedLink()])
  const calls = client.calls.length
  await pub.sync()
  t.same(
    client.calls.slice(calls).filter(c => !c.startsWith('list')),
    [],
    'capacity and allowMultipleAllocations compare equal: no rewrite',
  )
})

t.test(
  'an apiserver that drops allowMultipleAllocations (1.35) gets the exclusive device; no write loop',
  async t => {
    const { client, pub } = setup([...attachmentDevices(1), sharedLink()])
    client.dropSharing = true
    await pub.sync()
    t.ok(pub.sharingDropped, 'noticed on the stored object')
    const stored = slices(client)[0]?.spec.devices ?? []
    t.same(
      stored.find(d => d.name === 'host-ndra-shared0'),
      exclusiveFallback(sharedLink()),
      'republished at once as the exclusive host-interface device',
    )
    const calls = client.calls.length
    await pub.sync()
    await pub.sync()
    t.equal(client.calls.slice(calls).filter(c => !c.startsWith('list')).length, 0, 'converged')
  },
)
