// Invariant: the CDI spec writer emits exactly the golden bytes for fixed inputs, every spec it
// writes is valid against our CDI schema with the lowest sufficient cdiVersion, writes are atomic
// (no temp file ever left, an existing spec replaced whole) and removal is idempotent.
// Regenerate the goldens with UPDATE_GOLDEN=1 after an intended format change, then review the diff.
import t from 'tap'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { DriverError } from '../../../src/errors.js'
import {
  CdiSpecWriter,
  type CdiDeviceRequest,
  type CdiSpecWriterOptions,
  hookDeadlineMs,
} from '../../../src/cdi/spec-writer.js'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const goldenDir = join(repoRoot, 'cdi/golden')
const schemaPath = join(repoRoot, 'cdi/schema/cdi-spec.schema.json')
const updateGolden = process.env.UPDATE_GOLDEN === '1'

const schema = JSON.parse(await readFile(schemaPath, 'utf8')) as object
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema)

function options(cdiRoot: string, over: Partial<CdiSpecWriterOptions> = {}): CdiSpecWriterOptions {
  return {
    cdiRoot,
    driverName: 'network-dra.dev',
    hookPath: '/opt/network-dra/bin/network-dra-hook',
    hookSocket: '/run/network-dra/hook.sock',
    hookTimeoutSeconds: 30,
    ...over,
  }
}

const goldens: readonly {
  name: string
  uid: string
  devices: readonly CdiDeviceRequest[]
  cdiVersion: string
}[] = [
  {
    name: 'one-device',
    uid: 'c6b1d0a4-2f1e-4b7a-9d55-3e8f0a1b2c3d',
    devices: [{ device: 'attachment-0', request: 'net' }],
    cdiVersion: '0.3.0',
  },
  {
    name: 'two-devices',
    uid: 'e2a9f4c7-5b3d-4e1f-8a6c-7d9b0e1f2a3b',
    devices: [
      { device: 'attachment-3', request: 'net' },
      { device: 'host-eth1', request: 'uplink' },
    ],
    cdiVersion: '0.3.0',
  },
  {
    name: 'digit-first-uid',
    uid: '4f7e2d1c-9a8b-4c6d-b5e4-f3a2b1c0d9e8',
    devices: [{ device: 'attachment-1', request: 'net' }],
    cdiVersion: '0.5.0',
  },
  {
    // The KEP-5304 metadata bind mount is typeless: it needs no newer cdiVersion.
    name: 'metadata-mount',
    uid: 'c0ffee00-1111-4222-8333-444455556666',
    devices: [
      {
        device: 'attachment-2',
        request: 'nic',
        mounts: [
          {
            hostPath:
              '/var/lib/kubelet/plugins/network-dra.dev/dra-device-metadata/ns1_c1/nic/metadata.json',
            containerPath:
              '/var/run/kubernetes.io/dra-device-attributes/resourceclaims/c1/nic/network-dra.dev-metadata.json',
            options: ['ro', 'bind'],
          },
        ],
      },
    ],
    cdiVersion: '0.3.0',
  },
]

for (const g of goldens) {
  t.test(`golden ${g.name}`, async t => {
    const root = t.testdir()
    const w = new CdiSpecWriter(options(root))
    const ids = await w.write(g.uid, g.devices)
    t.strictSame(
      ids,
      g.devices.map(d => `network-dra.dev/net=${g.uid}-${d.device}`),
    )
    const path = join(root, `network-dra.dev-net_${g.uid}.json`)
    t.equal(w.specPath(g.uid), path)
    const bytes = await readFile(path, 'utf8')
    const goldenPath = join(goldenDir, `${g.name}.json`)
    if (updateGolden) await writeFile(goldenPath, bytes)
    t.equal(bytes, await readFile(goldenPath, 'utf8'), 'byte-identical to golden')
    const spec = JSON.parse(bytes) as { cdiVersion: string; devices: { containerEdits: unknown }[] }
    t.ok(validate(spec), `valid against the schema ${JSON.stringify(validate.errors ?? [])}`)
    t.equal(spec.cdiVersion, g.cdiVersion)
    t.equal((await stat(path)).mode & 0o777, 0o644)
    // Deterministic: rendering again gives the same bytes.
    t.equal(w.render(g.uid, g.devices), bytes)
  })
}

t.test('the hook edit is exactly the contract', async t => {
  const w = new CdiSpecWriter(options(t.testdir(), { hookTimeoutSeconds: 12 }))
  const spec = w.buildSpec('u1', [{ device: 'attachment-7', request: 'req-a' }])
  t.strictSame(spec.devices, [
    {
      name: 'u1-attachment-7',
      containerEdits: {
        hooks: [
          {
            hookName: 'createRuntime',
            path: '/opt/network-dra/bin/network-dra-hook',
            args: [
              'network-dra-hook',
              'attach',
              '--claim',
              'u1',
              '--request',
              'req-a',
              '--device',
              'attachment-7',
              '--socket',
              '/run/network-dra/hook.sock',
              '--timeout-ms',
              '10000',
            ],
            timeout: 12,
          },
        ],
      },
    },
  ])
  t.equal(hookDeadlineMs(12), 10000)
  t.equal(w.kind(), 'network-dra.dev/net')
})

t.test('schema rejects what CDI rejects', async t => {
  const good = new CdiSpecWriter(options(t.testdir())).buildSpec('u1', [
    { device: 'attachment-0', request: 'net' },
  ])
  t.ok(validate(good))
  const hook = good.devices[0]!.containerEdits.hooks![0]!
  const bad: readonly { name: string; spec: unknown }[] = [
    { name: 'no devices', spec: { ...good, devices: [] } },
    { name: 'unknown top-level field', spec: { ...good, extra: 1 } },
    { name: 'unknown cdiVersion', spec: { ...good, cdiVersion: '0.9.0' } },
    { name: 'kind without class', spec: { ...good, kind: 'network-dra.dev' } },
    { name: 'digit-first vendor', spec: { ...good, kind: '1vendor/net' } },
    { name: 'dot in class below 0.6.0', spec: { ...good, kind: 'v.dev/n.et' } },
    {
      name: 'digit-first device name at 0.3.0',
      spec: { ...good, devices: [{ ...good.devices[0], name: '9abc' }] },
    },
    {
      name: 'bad device name',
      spec: { ...good, devices: [{ ...good.devices[0], name: 'a/b' }] },
    },
    { name: 'empty device edits', spec: { ...good, devices: [{ name: 'a', containerEdits: {} }] } },
    {
      name: 'empty hooks list',
      spec: { ...good, devices: [{ name: 'a', containerEdits: { hooks: [] } }] },
    },
    ...[
      { name: 'relative hook path', hook: { ...hook, path: 'bin/hook' } },
      { name: 'unknown hook name', hook: { ...hook, hookName: 'createSandbox' } },
      { name: 'zero timeout', hook: { ...hook, timeout: 0 } },
      { name: 'fractional timeout', hook: { ...hook, timeout: 1.5 } },
      { name: 'env without key', hook: { ...hook, env: ['=x'] } },
      { name: 'env without =', hook: { ...hook, env: ['X'] } },
      { name: 'empty args', hook: { ...hook, args: [] } },
      { name: 'unknown hook field', hook: { ...hook, stage: 'x' } },
    ].map(c => ({
      name: c.name,
      spec: { ...good, devices: [{ name: 'a', containerEdits: { hooks: [c.hook] } }] },
    })),
  ]
  for (const c of bad) t.notOk(validate(c.spec), c.name)
})

t.test('invalid names and options throw NDRA_CDI_INVALID', async t => {
  const root = t.testdir()
  const ctorCases: readonly { name: string; over: Partial<CdiSpecWriterOptions> }[] = [
    { name: 'digit-first driver name', over: { driverName: '1net.dev' } },
    { name: 'driver name with slash', over: { driverName: 'a/b' } },
    { name: 'empty driver name', over: { driverName: '' } },
    { name: 'relative hook path', over: { hookPath: 'network-dra-hook' } },
    { name: 'relative socket', over: { hookSocket: 'hook.sock' } },
    { name: 'timeout too short', over: { hookTimeoutSeconds: 2 } },
    { name: 'fractional timeout', over: { hookTimeoutSeconds: 5.5 } },
  ]
  for (const c of ctorCases) {
    t.throws(() => new CdiSpecWriter(options(root, c.over)), { code: 'NDRA_CDI_INVALID' }, c.name)
  }
  const w = new CdiSpecWriter(options(root))
  const writeCases: readonly { name: string; uid: string; devices: CdiDeviceRequest[] }[] = [
    { name: 'no devices', uid: 'u1', devices: [] },
    { name: 'uid with slash', uid: '../x', devices: [{ device: 'attachment-0', request: 'r' }] },
    { name: 'empty uid', uid: '', devices: [{ device: 'attachment-0', request: 'r' }] },
    { name: 'device ends with dash', uid: 'u1', devices: [{ device: 'a-', request: 'r' }] },
    { name: 'device with space', uid: 'u1', devices: [{ device: 'a b', request: 'r' }] },
    {
      name: 'duplicate device',
      uid: 'u1',
      devices: [
        { device: 'attachment-0', request: 'r' },
        { device: 'attachment-0', request: 's' },
      ],
    },
    { name: 'empty request', uid: 'u1', devices: [{ device: 'attachment-0', request: '' }] },
  ]
  for (const c of writeCases) {
    await t.rejects(w.write(c.uid, c.devices), { code: 'NDRA_CDI_INVALID' }, c.name)
  }
  t.strictSame(await readdir(root), [], 'nothing written for invalid input')
  t.throws(() => w.specPath('a/b'), DriverError)
})

t.test('atomic replace, no temp files, directory created', async t => {
  const root = join(t.testdir(), 'nested', 'cdi')
  const w = new CdiSpecWriter(options(root))
  const uid = 'c6b1d0a4-2f1e-4b7a-9d55-3e8f0a1b2c3d'
  await w.write(uid, [{ device: 'attachment-0', request: 'net' }])
  t.equal((await stat(root)).isDirectory(), true)
  await w.write(uid, [
    { device: 'attachment-5', request: 'net' },
    { device: 'attachment-6', request: 'net' },
  ])
  const spec = JSON.parse(await readFile(w.specPath(uid), 'utf8')) as {
    devices: { name: string }[]
  }
  t.strictSame(
    spec.devices.map(d => d.name),
    [`${uid}-attachment-5`, `${uid}-attachment-6`],
    'previous spec replaced whole',
  )
  t.strictSame(await readdir(root), [`network-dra.dev-net_${uid}.json`])
})

t.test('a failed write leaves no temp file', async t => {
  const root = t.testdir()
  const w = new CdiSpecWriter(options(root))
  // A non-empty directory where the spec should go makes the rename fail for real.
  await mkdir(join(w.specPath('u2'), 'sub'), { recursive: true })
  await t.rejects(w.write('u2', [{ device: 'attachment-0', request: 'net' }]))
  t.strictSame(await readdir(root), ['network-dra.dev-net_u2.json'])
})

t.test('remove is idempotent; exists tracks the file', async t => {
  const root = t.testdir()
  const w = new CdiSpecWriter(options(root))
  t.equal(await w.exists('u1'), false)
  await w.remove('u1')
  await w.write('u1', [{ device: 'attachment-0', request: 'net' }])
  t.equal(await w.exists('u1'), true)
  await w.remove('u1')
  t.equal(await w.exists('u1'), false)
  await w.remove('u1')
  t.strictSame(await readdir(root), [])
  const gone = new CdiSpecWriter(options(join(root, 'missing')))
  await gone.remove('u1')
  t.equal(await gone.exists('u1'), false)
})

t.test('listClaimUids finds only our specs', async t => {
  const root = t.testdir({
    'network-dra.dev-net_zz.json': '{}',
    'network-dra.dev-net_0abc.json': '{}',
    'network-dra.dev-net_0abc.yaml': '',
    '.network-dra.dev-net_tmp.json.1.ab.tmp': '',
    'network-dra.dev-net_bad-.json': '{}',
    'other.dev-net_x.json': '{}',
    'nvidia.com-gpu.json': '{}',
  })
  const w = new CdiSpecWriter(options(root))
  await w.write('m1', [{ device: 'attachment-0', request: 'net' }])
  t.strictSame(await w.listClaimUids(), ['0abc', 'm1', 'zz'])
  t.strictSame(await new CdiSpecWriter(options(join(root, 'nope'))).listClaimUids(), [])
})
