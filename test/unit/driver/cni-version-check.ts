// Invariant: at prepare, the version libcni will select for each plan's network must be one every
// plugin binary of the network (IPAM included) lists in its VERSION answer; otherwise the plan gets a `cni-version` problem naming the version, the plugin and what it
// supports. VERSION goes through the real CniRuntime (fake exec) and is asked once per binary.
import t from 'tap'
import type { AttachmentPlan } from '../../../src/attach/attachment-plan.js'
import { formatProblem } from '../../../src/claims/policy-rules.js'
import { PluginVersions } from '../../../src/cni/plugin-versions.js'
import { CniRuntime } from '../../../src/cni/runtime.js'
import { CniVersionCheck } from '../../../src/driver/cni-version-check.js'
import { PluginFailure } from '../../../src/cni/plugin-failure.js'
import { CniFakeExec } from '../../fakes/cni-fake-exec.js'

const SUPPORTED: Record<string, string[] | 'old'> = {
  bridge: ['0.3.1', '0.4.0', '1.0.0'],
  macvlan: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'],
  'host-local': ['0.3.1', '0.4.0', '1.0.0'],
  ancient: 'old',
}

function rig() {
  const exec = new CniFakeExec(Object.keys(SUPPORTED), call => {
    const s = SUPPORTED[call.type]
    if (s === 'old') throw new PluginFailure({ cniCode: 4, msg: 'unknown CNI_COMMAND: VERSION' })
    return { cniVersion: '1.0.0', supportedVersions: s }
  })
  const runtime = new CniRuntime({
    binDirs: ['/fake/bin'],
    cacheDir: '/nonexistent',
    pluginTimeoutMs: 1000,
    exec,
  })
  const check = new CniVersionCheck({
    versions: new PluginVersions({
      runtime,
      timeoutMs: 1000,
      stat: async () => ({ mtimeMs: 1, size: 1 }),
    }),
  })
  return { exec, check }
}

const plan = (network: Record<string, unknown>, request = 'net'): AttachmentPlan => ({
  request,
  pool: 'node',
  device: 'attachment-0',
  networkConfig: { name: 'ndra.ns.a.n', ...network },
  ifName: 'net1',
  capabilityArgs: {},
  cniArgs: [],
})
const bridge = [{ type: 'bridge', ipam: { type: 'host-local' } }]

const cases: { name: string; network: Record<string, unknown>; want: RegExp | undefined }[] = [
  { name: 'supported by all', network: { cniVersion: '1.0.0', plugins: bridge }, want: undefined },
  {
    name: 'a version from the future',
    network: { cniVersion: '99.0.0', plugins: bridge },
    want: /^network-dra policy \[cni-version\] request "net" \(device attachment-0\) network\.cniVersion: "99\.0\.0" is not supported by plugin "bridge" \(\/fake\/bin\/bridge supports 0\.3\.1, 0\.4\.0, 1\.0\.0\); cniVersion must be/,
  },
  {
    name: 'known to the driver, not listed by the plugin',
    network: { cniVersion: '1.1.0', plugins: bridge },
    want: /"1\.1\.0" is not supported by plugin "bridge" \(\/fake\/bin\/bridge supports 0\.3\.1, 0\.4\.0, 1\.0\.0\)/,
  },
  {
    name: 'the IPAM plugin counts too',
    network: {
      cniVersion: '1.1.0',
      plugins: [{ type: 'macvlan', master: 'x', ipam: { type: 'host-local' } }],
    },
    want: /not supported by plugin "host-local"/,
  },
  {
    name: 'a plugin older than VERSION supports only 0.1.0',
    network: { cniVersion: '0.3.1', plugins: [{ type: 'ancient' }] },
    want: /"0\.3\.1" is not supported by plugin "ancient" \(\/fake\/bin\/ancient supports 0\.1\.0\)/,
  },
  {
    name: 'cniVersions: libcni picks the highest (1.1.0), which bridge lacks',
    network: { cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'], plugins: bridge },
    want: /"1\.1\.0" is not supported by plugin "bridge"/,
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const { check } = rig()
    const problems = await check.problems([plan(c.network)])
    if (c.want === undefined) {
      t.same(problems, [])
      return
    }
    t.equal(problems.length, 1)
    t.equal(problems[0]?.rule, 'cni-version')
    t.match(formatProblem(problems[0]!), c.want)
  })
}

t.test('each binary is asked VERSION once across plans and claims', async t => {
  const { exec, check } = rig()
  const net = { cniVersion: '1.0.0', plugins: bridge }
  await check.problems([plan(net, 'a'), plan(net, 'b')])
  await check.problems([plan(net)])
  t.same(exec.trace, ['VERSION bridge', 'VERSION host-local'])
})

t.test('a plugin that is not installed rejects the check (the claim cannot work)', async t => {
  const { check } = rig()
  await t.rejects(check.problems([plan({ cniVersion: '1.0.0', plugins: [{ type: 'vrf' }] })]), {
    code: 'NDRA_CNI_PLUGIN_NOT_FOUND',
  })
})
