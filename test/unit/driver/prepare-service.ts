// Invariants: every claim of a batch is answered; prepare is idempotent (a recorded claim is answered
// from the state, its missing CDI spec re-written, the API not read again); the record is written
// before the spec; a claim is never prepared twice at once; unprepare of an unknown claim succeeds.
// The claim records are the real ClaimLedger on a temporary directory.
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { KeyedLock } from '../../../src/util/keyed-lock.js'
import { ClaimMetadata } from '../../../src/driver/claim-metadata.js'
import { PrepareService } from '../../../src/driver/prepare-service.js'
import { DeviceMetadataFiles } from '../../../src/metadata/device-metadata.js'
import { silentLogger } from '../../../src/logger.js'
import { ClaimLedger } from '../../../src/state/claim-ledger.js'
import { FakeClaimReader, FakeDetacher, FakePlanner, FakeSpecs } from '../../fakes/prepare-fakes.js'
import { macvlanPlan } from '../../lib/ledger-seed.js'

const plan = macvlanPlan
const claim = (ns: string, name: string, uid: string) => ({
  metadata: { namespace: ns, name, uid },
})

async function setup(t: Test) {
  const reader = new FakeClaimReader({
    'default/a': claim('default', 'a', 'uid-a'),
    'default/b': claim('default', 'b', 'uid-b'),
    'default/bad': claim('default', 'bad', 'uid-bad'),
    'default/replaced': claim('default', 'replaced', 'uid-new'),
  })
  const planner = new FakePlanner({
    'uid-a': [plan('attachment-0')],
    'uid-b': [plan('attachment-1', 'x'), plan('attachment-2', 'y')],
    'uid-bad':
      'type "host-device" is not allowed by the network-dra policy; use one of: macvlan, bridge',
  })
  const dir = t.testdir()
  const ledger = await ClaimLedger.open({ dir, now: () => new Date('2026-01-01T00:00:00Z') })
  t.teardown(() => ledger.close())
  const specs = new FakeSpecs()
  const detacher = new FakeDetacher()
  const counts: number[] = []
  const phases: string[] = []
  const svc = new PrepareService({
    reader,
    planner,
    ledger,
    specs,
    detacher,
    claimLocks: new KeyedLock(),
    concurrency: 2,
    logger: silentLogger(),
    observer: {
      onError: () => undefined,
      onPreparedCount: n => counts.push(n),
      onPhase: (phase, seconds) => {
        if (seconds >= 0) phases.push(phase)
      },
    },
  })
  return { reader, planner, dir, ledger, specs, detacher, svc, counts, phases }
}
/** The claims in the state file, as another instance reads them. */
async function onDisk(dir: string) {
  const peer = await ClaimLedger.open({ dir })
  return peer.claims()
}
const ref = (name: string, uid: string) => ({ namespace: 'default', name, uid })
const signal = () => new AbortController().signal

t.test('prepare answers every claim, with per-claim errors', async t => {
  const { svc, dir, specs, counts, phases } = await setup(t)
  const res = await svc.prepare(
    [
      ref('a', 'uid-a'),
      ref('b', 'uid-b'),
      ref('bad', 'uid-bad'),
      ref('missing', 'uid-m'),
      ref('replaced', 'uid-old'),
    ],
    signal(),
  )
  t.same([...res.keys()].sort(), ['uid-a', 'uid-b', 'uid-bad', 'uid-m', 'uid-old'])
  t.same(res.get('uid-a'), {
    devices: [
      {
        requestNames: ['net'],
        poolName: 'node-1',
        deviceName: 'attachment-0',
        cdiDeviceIds: ['network-dra.dev/net=uid-a-attachment-0'],
      },
    ],
  })
  t.equal((res.get('uid-b') as { devices: unknown[] }).devices.length, 2)
  t.match(res.get('uid-bad'), { error: /host-device.*not allowed/ })
  t.match(res.get('uid-m'), { error: /network-dra: resourceclaims "missing" not found/ })
  t.match(res.get('uid-old'), { error: /was deleted and re-created/ })
  const claims = await onDisk(dir)
  t.same(Object.keys(claims).sort(), ['uid-a', 'uid-b'])
  t.same([...specs.files].sort(), ['uid-a', 'uid-b'])
  t.same(claims['uid-a']?.cdiDeviceIds, ['network-dra.dev/net=uid-a-attachment-0'])
  t.equal(claims['uid-a']?.preparedAt, '2026-01-01T00:00:00.000Z')
  t.same(counts, [2])
  // Every step is timed: one refresh per call; a read per claim (the missing one's read throws);
  // plan for the three whose read matched; record and spec for the two prepared.
  const tally = (p: string) => phases.filter(x => x === p).length
  t.same(
    ['refresh', 'claim_read', 'plan', 'record', 'cdi_spec'].map(tally),
    [1, 5, 3, 2, 2],
    'steps timed per claim',
  )
})

t.test('shares of a shared device: shareId to the kubelet, one CDI device per share', async t => {
  // Invariant: two shares of one device in a claim get distinct CDI ids (keyed by shareID) and the
  // kubelet hears each share's id (NodePrepareResources v1 Device.share_id).
  const A = '0b3f6a3e-2c1d-4a7e-9f00-000000000001'
  const B = '0b3f6a3e-2c1d-4a7e-9f00-000000000002'
  const { svc, planner, specs } = await setup(t)
  planner.byUid['uid-a'] = [
    { ...plan('host-ndra-shared0', 'x'), shareID: A },
    { ...plan('host-ndra-shared0', 'y'), shareID: B },
  ]
  const res = await svc.prepare([ref('a', 'uid-a')], signal())
  t.same(res.get('uid-a'), {
    devices: [
      {
        requestNames: ['x'],
        poolName: 'node-1',
        deviceName: 'host-ndra-shared0',
        cdiDeviceIds: [`network-dra.dev/net=uid-a-host-ndra-shared0.${A}`],
        shareId: A,
      },
      {
        requestNames: ['y'],
        poolName: 'node-1',
        deviceName: 'host-ndra-shared0',
        cdiDeviceIds: [`network-dra.dev/net=uid-a-host-ndra-shared0.${B}`],
        shareId: B,
      },
    ],
  })
  t.same([...specs.files], ['uid-a'])
})

t.test('prepare is idempotent and re-writes a missing spec without reading the API', async t => {
  const { svc, reader, specs } = await setup(t)
  const first = await svc.prepare([ref('a', 'uid-a')], signal())
  specs.files.clear() // a reboot empties /var/run/cdi
  const second = await svc.prepare([ref('a', 'uid-a')], signal())
  t.same(second, first)
  t.same(reader.gets, ['default/a'])
  t.same(specs.writes, ['uid-a', 'uid-a'])
  t.ok(specs.files.has('uid-a'))
})

t.test('the same claim twice in one batch is prepared once', async t => {
  const { svc, reader, specs } = await setup(t)
  const res = await svc.prepare([ref('a', 'uid-a'), ref('a', 'uid-a')], signal())
  t.equal(res.size, 1)
  t.same(reader.gets, ['default/a'])
  t.same(specs.writes, ['uid-a'])
})

t.test('a record exists before its spec is written', async t => {
  const { svc, dir, specs } = await setup(t)
  const orig = specs.write.bind(specs)
  let recordedFirst = false
  specs.write = async (uid, devices) => {
    recordedFirst = (await onDisk(dir))[uid] !== undefined
    return orig(uid, devices)
  }
  await svc.prepare([ref('a', 'uid-a')], signal())
  t.ok(recordedFirst)
})

t.test('an aborted call answers with an error per claim', async t => {
  const { svc } = await setup(t)
  const ac = new AbortController()
  ac.abort(new Error('kubelet deadline'))
  const res = await svc.prepare([ref('a', 'uid-a')], ac.signal)
  t.match(res.get('uid-a'), { error: /kubelet deadline/ })
})

t.test('unprepare', async t => {
  const { svc, dir, specs, detacher } = await setup(t)
  await svc.prepare([ref('a', 'uid-a')], signal())
  const res = await svc.unprepare([ref('a', 'uid-a'), ref('never', 'uid-never')], signal())
  t.same(res.get('uid-a'), {})
  t.same(res.get('uid-never'), {})
  t.same(detacher.detached, ['uid-a'])
  t.same(specs.removes.sort(), ['uid-a', 'uid-never'])
  t.same(await onDisk(dir), {})
  t.same(await svc.unprepare([ref('a', 'uid-a')], signal()), new Map([['uid-a', {}]]))
})

t.test('a failed detach keeps the record so the kubelet retries', async t => {
  const { svc, dir, detacher } = await setup(t)
  await svc.prepare([ref('a', 'uid-a')], signal())
  detacher.fail = new Error('plugin type="macvlan" failed (delete): boom')
  const res = await svc.unprepare([ref('a', 'uid-a')], signal())
  t.match(res.get('uid-a'), { error: /failed \(delete\): boom/ })
  t.ok((await onDisk(dir))['uid-a'])
})

// Invariant (rolling update): a claim another instance prepared since our last read is answered
// from the shared file, not prepared again; one it unprepared is not detached again here.
t.test('prepare and unprepare re-read what another instance recorded', async t => {
  const { svc, dir, reader, specs, detacher } = await setup(t)
  const peer = await ClaimLedger.open({ dir })
  await peer.prepared({
    uid: 'uid-a',
    namespace: 'default',
    name: 'a',
    plans: [plan('attachment-0')],
    cdiDeviceIds: ['network-dra.dev/net=uid-a-attachment-0'],
  })
  const res = await svc.prepare([ref('a', 'uid-a')], signal())
  t.match(res.get('uid-a'), { devices: [{ deviceName: 'attachment-0' }] })
  t.same(reader.gets, [], 'no API read: answered from the record')
  t.same(specs.writes, ['uid-a'], 'its missing spec written')
  await peer.dropped('uid-a')
  t.same(await svc.unprepare([ref('a', 'uid-a')], signal()), new Map([['uid-a', {}]]))
  t.same(detacher.detached, [], 'nothing left to detach')
})

t.test('device metadata: file before spec, mount in the spec, removed at unprepare', async t => {
  const dir = t.testdir({ metadata: {}, state: {} })
  const root = join(dir, 'metadata')
  const files = new DeviceMetadataFiles({
    root,
    driverName: 'network-dra.dev',
    versions: ['v1beta1', 'v1alpha1'],
  })
  const ledger = await ClaimLedger.open({ dir: join(dir, 'state') })
  t.teardown(() => ledger.close())
  const specs = new FakeSpecs()
  const svc = new PrepareService({
    reader: new FakeClaimReader({
      'default/pod-x-net-1': {
        metadata: {
          namespace: 'default',
          name: 'pod-x-net-1',
          uid: 'uid-t',
          annotations: { 'resource.kubernetes.io/pod-claim-name': 'net' },
        },
      },
    }),
    planner: new FakePlanner({
      'uid-t': [{ ...plan('attachment-0', 'nic'), requestRef: 'nic/macvlan' }],
    }),
    ledger,
    specs,
    detacher: new FakeDetacher(),
    claimLocks: new KeyedLock(),
    concurrency: 1,
    logger: silentLogger(),
    metadata: new ClaimMetadata(files),
  })
  const claimRef = { namespace: 'default', name: 'pod-x-net-1' }
  const seen: { fileAtSpec?: boolean; devices?: unknown } = {}
  const orig = specs.write.bind(specs)
  specs.write = async (uid, devices) => {
    seen.fileAtSpec = (await files.read(claimRef, 'nic')) !== undefined
    seen.devices = devices
    return orig(uid, devices)
  }
  const res = await svc.prepare([ref('pod-x-net-1', 'uid-t')], signal())
  t.match(res.get('uid-t'), { devices: [{ requestNames: ['nic'] }] })
  t.equal(seen.fileAtSpec, true, 'the file exists before the spec that mounts it')
  t.same(seen.devices, [
    {
      device: 'attachment-0',
      request: 'nic',
      mounts: [
        {
          hostPath: join(root, 'default_pod-x-net-1', 'nic', 'metadata.json'),
          containerPath:
            '/var/run/kubernetes.io/dra-device-attributes/resourceclaimtemplates/net/nic/network-dra.dev-metadata.json',
          options: ['ro', 'bind'],
        },
      ],
    },
  ])
  t.equal(
    (await onDisk(join(dir, 'state')))['uid-t']?.podClaimName,
    'net',
    'recorded by the ledger',
  )
  t.match(await files.read(claimRef, 'nic'), /"name": "nic\/macvlan"/)
  await svc.unprepare([ref('pod-x-net-1', 'uid-t')], signal())
  t.equal(await files.read(claimRef, 'nic'), undefined, 'removed at unprepare')
})
