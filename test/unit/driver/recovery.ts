// Invariants: recovery re-writes missing specs of prepared claims, removes specs no claim owns,
// runs CNI GC with exactly the prepared claims as the valid set, and keeps going past failures.
import t from 'tap'
import type { ClaimRecord } from '../../../src/state/state-types.js'
import { ClaimMetadata } from '../../../src/driver/claim-metadata.js'
import { recover, sweepOrphanSpecs } from '../../../src/driver/recovery.js'
import { DeviceMetadataFiles, firstStreamObject } from '../../../src/metadata/device-metadata.js'
import { silentLogger } from '../../../src/logger.js'

const record = (uid: string): ClaimRecord => ({
  uid,
  namespace: 'ns',
  name: uid,
  plans: [
    {
      request: 'net',
      pool: 'n',
      device: 'attachment-0',
      networkConfig: {},
      ifName: 'net1',
      capabilityArgs: {},
      cniArgs: [],
    },
  ],
  cdiDeviceIds: [`x/y=${uid}-attachment-0`],
  attachments: [],
  preparedAt: '2026-01-01T00:00:00Z',
})
const state = (uids: string[]): Record<string, ClaimRecord> =>
  Object.fromEntries(uids.map(u => [u, record(u)]))

t.test('recovery table', async t => {
  const files = new Set(['a', 'orphan', 'bad-orphan'])
  const written: string[] = []
  let gcValid: string[] = []
  const report = await recover({
    claims: async () => state(['a', 'b', 'c']),
    specs: {
      exists: async uid => files.has(uid),
      write: async (uid, devices) => {
        if (uid === 'c') throw new Error('disk full')
        written.push(`${uid}:${devices.map(d => d.device).join(',')}`)
        files.add(uid)
        return []
      },
      remove: async uid => {
        if (uid === 'bad-orphan') throw new Error('EBUSY')
        files.delete(uid)
      },
      listClaimUids: async () => [...files],
    },
    gc: {
      garbageCollect: async valid => {
        gcValid = [...valid]
        return {
          detachedClaims: [],
          deletedCacheEntries: ['net-sb1-net1'],
          errors: ['net-sb2-net1: boom'],
        }
      },
    },
    logger: silentLogger(),
  })
  t.same(written, ['b:attachment-0'])
  t.same(report.specsRewritten, ['b'])
  t.same(report.specsRemoved, ['orphan'])
  t.same(report.cacheEntriesDeleted, ['net-sb1-net1'])
  t.same(gcValid.sort(), ['a', 'b', 'c'])
  t.same(report.errors, [
    're-writing CDI spec of claim c: disk full',
    'removing orphan CDI spec of claim bad-orphan: EBUSY',
    'net-sb2-net1: boom',
  ])
})

t.test('a failing listing or GC is reported, not thrown', async t => {
  const report = await recover({
    claims: async () => state([]),
    specs: {
      exists: async () => true,
      write: async () => [],
      remove: async () => undefined,
      listClaimUids: async () => Promise.reject(new Error('EACCES')),
    },
    gc: { garbageCollect: async () => Promise.reject(new Error('cache unreadable')) },
    logger: silentLogger(),
  })
  t.same(report.errors, ['listing CDI specs: EACCES', 'CNI garbage collection: cache unreadable'])
})

// Invariant (rolling-update overlap): another instance may prepare a claim while recovery runs.
// Its spec is listed, but the state re-read after the listing holds its record, so the spec is
// kept; and CNI GC over the whole cache is turned off while another instance is live.
t.test('a claim prepared by a live peer meanwhile keeps its spec; CNI GC off', async t => {
  const files = new Set(['a'])
  let reads = 0
  let gcOpts: { cniGc?: boolean } | undefined
  const report = await recover({
    claims: async () => {
      reads++
      // First read: only 'a'. The peer then prepares 'late' (record, then spec).
      if (reads === 1) {
        files.add('late')
        return state(['a'])
      }
      return state(['a', 'late'])
    },
    specs: {
      exists: async uid => files.has(uid),
      write: async () => [],
      remove: async uid => {
        files.delete(uid)
      },
      listClaimUids: async () => [...files],
    },
    gc: {
      garbageCollect: async (_valid, opts) => {
        gcOpts = opts
        return { detachedClaims: [], deletedCacheEntries: [], errors: [] }
      },
    },
    peerLive: async () => true,
    logger: silentLogger(),
  })
  t.same(report.specsRemoved, [], "the peer's fresh spec is not an orphan")
  t.ok(files.has('late'))
  t.same(gcOpts, { cniGc: false })
  t.equal(report.cniGcSkipped, true)
})

t.test('without a live peer CNI GC runs', async t => {
  let gcOpts: { cniGc?: boolean } | undefined
  const report = await recover({
    claims: async () => state([]),
    specs: {
      exists: async () => true,
      write: async () => [],
      remove: async () => undefined,
      listClaimUids: async () => [],
    },
    gc: {
      garbageCollect: async (_valid, opts) => {
        gcOpts = opts
        return { detachedClaims: [], deletedCacheEntries: [], errors: [] }
      },
    },
    peerLive: async () => false,
    logger: silentLogger(),
  })
  t.same(gcOpts, { cniGc: true })
  t.equal(report.cniGcSkipped, false)
})

// Invariant: the periodic sweep removes exactly the specs whose claim the state (read after the
// listing) no longer holds, and reports a failing removal instead of throwing.
t.test('sweepOrphanSpecs', async t => {
  const files = new Set(['held', 'orphan', 'stuck'])
  const r = await sweepOrphanSpecs({
    claims: async () => state(['held']),
    specs: {
      listClaimUids: async () => [...files],
      remove: async uid => {
        if (uid === 'stuck') throw new Error('EBUSY')
        files.delete(uid)
      },
    },
  })
  t.same(r.removed, ['orphan'])
  t.same(r.errors, ['removing orphan CDI spec of claim stuck: EBUSY'])
  t.same([...files].sort(), ['held', 'stuck'])
})

t.test('recovery re-creates a missing metadata file with the recorded network data', async t => {
  const root = t.testdir()
  const files = new DeviceMetadataFiles({ root, driverName: 'x', versions: ['v1alpha1'] })
  const rec: ClaimRecord = {
    ...record('m'),
    attachments: [
      {
        sandboxId: 'sb1',
        podUid: 'pu',
        podName: 'p',
        podNamespace: 'ns',
        request: 'net',
        device: 'attachment-0',
        ifName: 'net1',
        netns: '/proc/1/ns/net',
        networkName: 'n',
        phase: 'attached',
        result: {
          cniVersion: '1.0.0',
          interfaces: [{ name: 'net1', mac: '02:00:00:00:00:0b', sandbox: '/proc/1/ns/net' }],
          ips: [{ address: '10.0.0.9/24', interface: 0 }],
        },
        updatedAt: '2026-01-01T00:00:00Z',
      },
    ],
  }
  let mounted: unknown
  await recover({
    claims: async () => ({ m: rec }),
    specs: {
      exists: async () => false,
      write: async (_uid, devices) => {
        mounted = devices[0]?.mounts?.[0]?.containerPath
        return []
      },
      remove: async () => undefined,
      listClaimUids: async () => [],
    },
    gc: {
      garbageCollect: async () => ({ detachedClaims: [], deletedCacheEntries: [], errors: [] }),
    },
    logger: silentLogger(),
    metadata: new ClaimMetadata(files),
  })
  t.equal(
    mounted,
    '/var/run/kubernetes.io/dra-device-attributes/resourceclaims/m/net/x-metadata.json',
  )
  t.match(firstStreamObject((await files.read({ namespace: 'ns', name: 'm' }, 'net')) ?? ''), {
    requests: [{ name: 'net', devices: [{ networkData: { ips: ['10.0.0.9/24'] } }] }],
  })
})
