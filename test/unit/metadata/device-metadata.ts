// Invariant: metadata files follow the KEP-5304 protocol as the upstream helper writes it (paths,
// one DeviceMetadata per version newest first, `requests[].name` keeps `req/sub` while the path
// uses the main request), and a rewrite keeps the inode (runc bind-mounted it) and bumps the
// generation.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import {
  containerMetadataPath,
  DeviceMetadataFiles,
  firstStreamObject,
  generationOf,
  podClaimNameOf,
  renderMetadataStream,
  type MetadataClaim,
} from '../../../src/metadata/device-metadata.js'

const D = 'network-dra.dev'
const claim: MetadataClaim = { namespace: 'ns1', name: 'pod-a-net-x7k', uid: 'u-1' }

const paths: readonly {
  name: string
  claim: Pick<MetadataClaim, 'name' | 'podClaimName'>
  request: string
  /** `undefined` = refused. */
  want: string | undefined
}[] = [
  {
    name: 'claim by name',
    claim: { name: 'c1' },
    request: 'net',
    want: '/var/run/kubernetes.io/dra-device-attributes/resourceclaims/c1/net/network-dra.dev-metadata.json',
  },
  {
    name: 'template claim uses the pod claim name',
    claim: { name: 'pod-a-net-x7k', podClaimName: 'net' },
    request: 'req',
    want: '/var/run/kubernetes.io/dra-device-attributes/resourceclaimtemplates/net/req/network-dra.dev-metadata.json',
  },
  {
    name: 'subrequest dropped from the path',
    claim: { name: 'c1' },
    request: 'nic/fast',
    want: '/var/run/kubernetes.io/dra-device-attributes/resourceclaims/c1/nic/network-dra.dev-metadata.json',
  },
  { name: 'dot-dot request refused', claim: { name: 'c1' }, request: '..', want: undefined },
  { name: 'empty request refused', claim: { name: 'c1' }, request: '', want: undefined },
  {
    name: 'bad pod claim name refused',
    claim: { name: 'c1', podClaimName: '..' },
    request: 'r',
    want: undefined,
  },
]
for (const c of paths) {
  t.test(`path: ${c.name}`, async t => {
    if (c.want === undefined) {
      t.throws(() => containerMetadataPath(D, c.claim, c.request), {
        code: 'NDRA_INVALID_ARGUMENT',
      })
    } else t.equal(containerMetadataPath(D, c.claim, c.request), c.want)
  })
}

t.test('podClaimNameOf reads the kubelet annotation', async t => {
  t.equal(podClaimNameOf({ 'resource.kubernetes.io/pod-claim-name': 'net' }), 'net')
  t.equal(podClaimNameOf({ 'resource.kubernetes.io/pod-claim-name': '' }), undefined)
  t.equal(podClaimNameOf(undefined), undefined)
})

t.test('stream: one object per version, newest first, same body', async t => {
  const text = renderMetadataStream(
    D,
    ['v1beta1', 'v1alpha1'],
    { ...claim, podClaimName: 'net' },
    3,
    'nic/fast',
    [
      {
        pool: 'node1',
        name: 'attachment-0',
        networkData: {
          interfaceName: 'net1',
          ips: ['10.9.0.5/24'],
          hardwareAddress: '02:00:00:00:00:01',
        },
      },
      { pool: 'node1', name: 'attachment-1', networkData: { interfaceName: '', ips: [] } },
    ],
  )
  const objs = text
    .trimEnd()
    .split('\n}\n')
    .map((s, i, a) => JSON.parse(i < a.length - 1 ? `${s}\n}` : s) as Record<string, unknown>)
  t.equal(objs.length, 2)
  t.same(
    objs.map(o => o['apiVersion']),
    ['metadata.resource.k8s.io/v1beta1', 'metadata.resource.k8s.io/v1alpha1'],
  )
  for (const o of objs) {
    t.strictSame(o, {
      kind: 'DeviceMetadata',
      apiVersion: o['apiVersion'],
      metadata: { name: 'pod-a-net-x7k', namespace: 'ns1', uid: 'u-1', generation: 3 },
      podClaimName: 'net',
      requests: [
        {
          name: 'nic/fast',
          devices: [
            {
              driver: D,
              pool: 'node1',
              name: 'attachment-0',
              networkData: {
                interfaceName: 'net1',
                ips: ['10.9.0.5/24'],
                hardwareAddress: '02:00:00:00:00:01',
              },
            },
            { driver: D, pool: 'node1', name: 'attachment-1', networkData: {} },
          ],
        },
      ],
    })
  }
  t.equal(generationOf(text), 3)
})

const generations: readonly { name: string; text: string; want: number }[] = [
  { name: 'empty file', text: '', want: 0 },
  { name: 'garbage', text: 'not json', want: 0 },
  { name: 'truncated object', text: '{"metadata":{"generation":4}', want: 0 },
  {
    name: 'braces inside strings',
    text: '{"x":"}{\\"","metadata":{"generation":5}}\n{"metadata":{"generation":9}}',
    want: 5,
  },
  { name: 'no generation', text: '{"metadata":{}}', want: 0 },
  { name: 'negative generation', text: '{"metadata":{"generation":-2}}', want: 0 },
]
for (const c of generations) {
  t.test(`generationOf: ${c.name}`, async t => {
    t.equal(generationOf(c.text), c.want)
  })
}

t.test('firstStreamObject of leading whitespace', async t => {
  t.same(firstStreamObject('\n {"a":1}{"b":2}'), { a: 1 })
  t.equal(firstStreamObject('[1]'), undefined)
})

t.test('files: create, in-place update, remove', async t => {
  const root = await mkdtemp(join(tmpdir(), 'ndra-meta-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const files = new DeviceMetadataFiles({ root, driverName: D, versions: ['v1beta1', 'v1alpha1'] })
  const path = files.hostPath(claim, 'nic/fast')
  t.equal(path, join(root, 'ns1_pod-a-net-x7k', 'nic', 'metadata.json'))
  t.strictSame(files.mount(claim, 'nic/fast'), {
    hostPath: path,
    containerPath:
      '/var/run/kubernetes.io/dra-device-attributes/resourceclaims/pod-a-net-x7k/nic/network-dra.dev-metadata.json',
    options: ['ro', 'bind'],
  })

  await t.rejects(files.update(claim, 'nic/fast', []), { code: 'NDRA_CLAIM_NOT_PREPARED' })
  await files.create(claim, 'nic/fast', [{ pool: 'node1', name: 'attachment-0' }])
  const first = await files.read(claim, 'nic')
  t.equal(generationOf(first ?? ''), 1)
  t.equal((await stat(path)).mode & 0o777, 0o644)
  const ino = (await stat(path)).ino

  // A second prepare leaves the file (and what an attach wrote) alone.
  const gen2 = await files.update(claim, 'nic/fast', [
    {
      pool: 'node1',
      name: 'attachment-0',
      networkData: { interfaceName: 'net1', ips: ['10.9.0.5/24'] },
    },
  ])
  t.equal(gen2, 2)
  await files.create(claim, 'nic/fast', [{ pool: 'node1', name: 'attachment-0' }])
  const after = await files.read(claim, 'nic/fast')
  t.equal(generationOf(after ?? ''), 2)
  t.match(after, /"10\.9\.0\.5\/24"/)
  t.equal((await stat(path)).ino, ino, 'same inode after the rewrite')

  // A shorter rewrite leaves no tail of the longer content behind.
  await files.update(claim, 'nic/fast', [])
  const short = (await files.read(claim, 'nic/fast')) ?? ''
  t.equal(generationOf(short), 3)
  t.notMatch(short, /10\.9\.0\.5/)
  t.type(firstStreamObject(short), 'object')

  // A file a crash left half-written restarts the count rather than failing the attach.
  await writeFile(path, '{"metadata":')
  t.equal(await files.update(claim, 'nic/fast', []), 1)

  await files.removeClaim('ns1', 'pod-a-net-x7k')
  t.equal(await files.read(claim, 'nic/fast'), undefined)
  await files.removeClaim('ns1', 'pod-a-net-x7k')
})

t.test('at least one version', async t => {
  t.throws(() => new DeviceMetadataFiles({ root: '/x', driverName: D, versions: [] }), {
    code: 'NDRA_INVALID_CONFIG',
  })
})
