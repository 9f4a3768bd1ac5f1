// Invariant: a claim's metadata files carry, per main request, the `req` or `req/sub` reference and
// exactly the networkData its claim status gets (same source, same bounds); only the first device
// of each request mounts the file; prepare never clobbers an attach's rewrite; unprepare removes all.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { AttachmentPlan } from '../../../src/attach/attachment-plan.js'
import { cdiDevicesOf, ClaimMetadata, requestMetadata } from '../../../src/driver/claim-metadata.js'
import { deviceStatuses } from '../../../src/driver/status-observer.js'
import {
  DeviceMetadataFiles,
  firstStreamObject,
  generationOf,
} from '../../../src/metadata/device-metadata.js'
import { boundedNetworkData } from '../../../src/status/claim-status.js'
import type { AttachmentRecord, ClaimRecord } from '../../../src/state/state-types.js'

const D = 'network-dra.dev'

const plan = (
  request: string,
  device: string,
  ifName: string,
  requestRef?: string,
): AttachmentPlan => ({
  request,
  ...(requestRef !== undefined ? { requestRef } : {}),
  pool: 'node-1',
  device,
  ifName,
  networkConfig: {},
  capabilityArgs: {},
  cniArgs: [],
})

const att = (request: string, device: string, ifName: string, ip: string): AttachmentRecord => ({
  sandboxId: 'sb1',
  podUid: 'pu1',
  podName: 'p1',
  podNamespace: 'ns',
  request,
  device,
  ifName,
  netns: '/proc/1/ns/net',
  networkName: 'n',
  phase: 'attached',
  result: {
    cniVersion: '1.0.0',
    interfaces: [{ name: ifName, mac: '02:00:00:00:00:0a', sandbox: '/proc/1/ns/net' }],
    ips: [{ address: ip, interface: 0 }],
  },
  updatedAt: '2026-01-01T00:00:00Z',
})

const record = (
  plans: AttachmentPlan[],
  attachments: AttachmentRecord[],
  podClaimName?: string,
): ClaimRecord => ({
  uid: 'u1',
  namespace: 'ns',
  name: 'pod-c1-x',
  ...(podClaimName !== undefined ? { podClaimName } : {}),
  plans,
  cdiDeviceIds: plans.map(p => p.device),
  attachments,
  preparedAt: '2026-01-01T00:00:00Z',
})

const cases: readonly {
  name: string
  rec: ClaimRecord
  withNetwork: boolean
  want: { request: string; requestRef: string; devices: { name: string; ips?: string[] }[] }[]
}[] = [
  {
    name: 'prepare: devices without network data',
    rec: record(
      [plan('a', 'attachment-0', 'net1')],
      [att('a', 'attachment-0', 'net1', '10.0.0.5/24')],
    ),
    withNetwork: false,
    want: [{ request: 'a', requestRef: 'a', devices: [{ name: 'attachment-0' }] }],
  },
  {
    name: 'attached: status networkData; pending device has none',
    rec: record(
      [plan('a', 'attachment-0', 'net1'), plan('b', 'attachment-1', 'net2')],
      [att('a', 'attachment-0', 'net1', '10.0.0.5/24')],
    ),
    withNetwork: true,
    want: [
      { request: 'a', requestRef: 'a', devices: [{ name: 'attachment-0', ips: ['10.0.0.5/24'] }] },
      { request: 'b', requestRef: 'b', devices: [{ name: 'attachment-1' }] },
    ],
  },
  {
    name: 'prioritized list: file keeps req/sub; two devices of one request share it',
    rec: record(
      [
        plan('nic', 'attachment-0', 'net1', 'nic/fast'),
        plan('nic', 'attachment-1', 'net2', 'nic/fast'),
      ],
      [
        att('nic', 'attachment-0', 'net1', '10.0.0.5/24'),
        att('nic', 'attachment-1', 'net2', 'fd00::5/64'),
      ],
    ),
    withNetwork: true,
    want: [
      {
        request: 'nic',
        requestRef: 'nic/fast',
        devices: [
          { name: 'attachment-0', ips: ['10.0.0.5/24'] },
          { name: 'attachment-1', ips: ['fd00::5/64'] },
        ],
      },
    ],
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const got = requestMetadata(c.rec, c.withNetwork)
    t.equal(got.length, c.want.length)
    c.want.forEach((w, i) => {
      const g = got[i]
      t.equal(g?.request, w.request)
      t.equal(g?.requestRef, w.requestRef)
      t.same(
        g?.devices.map(d => d.name),
        w.devices.map(d => d.name),
      )
      w.devices.forEach((wd, j) => {
        t.same(g?.devices[j]?.networkData?.ips, wd.ips)
      })
    })
    if (c.withNetwork) {
      // Field-for-field what the status writer sends.
      const statuses = deviceStatuses(c.rec)
      const flat = got.flatMap(r => r.devices)
      c.rec.plans.forEach((p, i) => {
        const st = statuses[i]?.networkData
        const fileNd = flat.find(d => d.name === p.device)?.networkData
        t.same(fileNd ?? {}, st === undefined ? {} : boundedNetworkData(st), p.device)
      })
    }
  })
}

t.test('cdiDevicesOf mounts once per request, and not at all when off', async t => {
  const files = new DeviceMetadataFiles({ root: '/m', driverName: D, versions: ['v1alpha1'] })
  const rec = record(
    [
      plan('nic', 'attachment-0', 'net1', 'nic/fast'),
      plan('nic', 'attachment-1', 'net2', 'nic/fast'),
      plan('b', 'attachment-2', 'net3'),
    ],
    [],
    'net',
  )
  const got = cdiDevicesOf(rec, files)
  t.same(
    got.map(d => d.mounts?.map(m => m.containerPath)),
    [
      [
        '/var/run/kubernetes.io/dra-device-attributes/resourceclaimtemplates/net/nic/network-dra.dev-metadata.json',
      ],
      undefined,
      [
        '/var/run/kubernetes.io/dra-device-attributes/resourceclaimtemplates/net/b/network-dra.dev-metadata.json',
      ],
    ],
  )
  t.equal(got[0]?.mounts?.[0]?.hostPath, '/m/ns_pod-c1-x/nic/metadata.json')
  t.strictSame(cdiDevicesOf(rec, undefined), [
    { device: 'attachment-0', request: 'nic' },
    { device: 'attachment-1', request: 'nic' },
    { device: 'attachment-2', request: 'b' },
  ])
})

t.test('ClaimMetadata: prepare, sync, prepare again, remove', async t => {
  const root = await mkdtemp(join(tmpdir(), 'ndra-cm-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const files = new DeviceMetadataFiles({ root, driverName: D, versions: ['v1beta1', 'v1alpha1'] })
  const m = new ClaimMetadata(files)
  const plans = [plan('nic', 'attachment-0', 'net1', 'nic/fast')]
  const claim = { namespace: 'ns', name: 'pod-c1-x' }
  await m.prepare(record(plans, []))
  t.equal(generationOf((await files.read(claim, 'nic')) ?? ''), 1)
  await m.sync(record(plans, [att('nic', 'attachment-0', 'net1', '10.0.0.5/24')]))
  await m.prepare(record(plans, []))
  const text = (await files.read(claim, 'nic')) ?? ''
  t.equal(generationOf(text), 2)
  t.match(firstStreamObject(text), {
    apiVersion: 'metadata.resource.k8s.io/v1beta1',
    requests: [
      {
        name: 'nic/fast',
        devices: [
          {
            driver: D,
            pool: 'node-1',
            name: 'attachment-0',
            networkData: {
              interfaceName: 'net1',
              ips: ['10.0.0.5/24'],
              hardwareAddress: '02:00:00:00:00:0a',
            },
          },
        ],
      },
    ],
  })
  await m.remove(claim)
  t.equal(await files.read(claim, 'nic'), undefined)
})
