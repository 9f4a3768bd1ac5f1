// Invariant: minimumCdiVersion returns the lowest cdiVersion whose format covers the content,
// one trigger at a time and the newest trigger winning, matching CDI's MinimumRequiredVersion.
import t from 'tap'
import type { CdiSpec } from '../../../src/cdi/cdi-spec.js'
import { CDI_VERSIONS, minimumCdiVersion } from '../../../src/cdi/minimum-cdi-version.js'

const hook = { hookName: 'createRuntime', path: '/bin/true' } as const
const base: CdiSpec = {
  cdiVersion: '9.9.9',
  kind: 'network-dra.dev/net',
  devices: [{ name: 'u1-attachment-0', containerEdits: { hooks: [hook] } }],
}
const withEdits = (containerEdits: CdiSpec['devices'][number]['containerEdits']): CdiSpec => ({
  ...base,
  devices: [{ name: 'dev', containerEdits }],
})

const cases: readonly { name: string; spec: CdiSpec; want: string }[] = [
  { name: 'hooks only', spec: base, want: '0.3.0' },
  { name: 'env only', spec: withEdits({ env: ['A=1'] }), want: '0.3.0' },
  {
    name: 'mount without type',
    spec: withEdits({ mounts: [{ hostPath: '/a', containerPath: '/b' }] }),
    want: '0.3.0',
  },
  {
    name: 'mount with empty type',
    spec: withEdits({ mounts: [{ hostPath: '/a', containerPath: '/b', type: '' }] }),
    want: '0.3.0',
  },
  {
    name: 'mount type',
    spec: withEdits({ mounts: [{ hostPath: '/a', containerPath: '/b', type: 'bind' }] }),
    want: '0.4.0',
  },
  {
    name: 'device node without hostPath',
    spec: withEdits({ deviceNodes: [{ path: '/dev/x' }] }),
    want: '0.3.0',
  },
  {
    name: 'device node hostPath',
    spec: withEdits({ deviceNodes: [{ path: '/dev/x', hostPath: '/dev/y' }] }),
    want: '0.5.0',
  },
  {
    name: 'digit-first device name',
    spec: { ...base, devices: [{ name: '4f7e-attachment-0', containerEdits: { hooks: [hook] } }] },
    want: '0.5.0',
  },
  { name: 'spec annotations', spec: { ...base, annotations: { a: 'b' } }, want: '0.6.0' },
  { name: 'empty spec annotations', spec: { ...base, annotations: {} }, want: '0.3.0' },
  {
    name: 'device annotations',
    spec: {
      ...base,
      devices: [{ name: 'd', annotations: { a: 'b' }, containerEdits: { hooks: [hook] } }],
    },
    want: '0.6.0',
  },
  { name: 'dot in class', spec: { ...base, kind: 'network-dra.dev/n.et' }, want: '0.6.0' },
  { name: 'dot only in vendor', spec: { ...base, kind: 'a.b.c/net' }, want: '0.3.0' },
  { name: 'intelRdt', spec: withEdits({ intelRdt: { closID: 'c' } }), want: '0.7.0' },
  { name: 'additionalGids', spec: withEdits({ additionalGids: [5] }), want: '0.7.0' },
  {
    name: 'spec-level additionalGids',
    spec: { ...base, containerEdits: { additionalGids: [5] } },
    want: '0.7.0',
  },
  {
    name: 'empty additionalGids',
    spec: withEdits({ env: ['A=1'], additionalGids: [] }),
    want: '0.3.0',
  },
  {
    name: 'netDevices',
    spec: withEdits({ netDevices: [{ hostInterfaceName: 'eth1', name: 'net1' }] }),
    want: '1.1.0',
  },
  {
    name: 'intelRdt schemata',
    spec: withEdits({ intelRdt: { schemata: ['L3:0=f'] } }),
    want: '1.1.0',
  },
  {
    name: 'intelRdt enableMonitoring',
    spec: withEdits({ intelRdt: { enableMonitoring: true } }),
    want: '1.1.0',
  },
  {
    name: 'newest trigger wins',
    spec: {
      ...base,
      annotations: { a: 'b' },
      devices: [
        {
          name: '0x',
          containerEdits: { mounts: [{ hostPath: '/a', containerPath: '/b', type: 'bind' }] },
        },
      ],
    },
    want: '0.6.0',
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    t.equal(minimumCdiVersion(c.spec), c.want)
    t.ok(CDI_VERSIONS.includes(minimumCdiVersion(c.spec)))
  })
}
