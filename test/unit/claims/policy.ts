// Invariant: tenant (claim) networks only run allowed plugin types, never contain forbidden keys at
// any depth (case-insensitively), never name a plugin by path; admin (class) networks are trusted
// for types and keys but still path-checked; the policy file is strict and defaults are sane.
import t from 'tap'
import {
  DEFAULT_POLICY,
  claimConfigProblems,
  forbiddenKeyProblems,
  loadPolicyFile,
  networkPolicyProblems,
  parsePolicy,
  policyViolation,
  typeProblem,
  type ConfigSource,
  type Policy,
} from '../../../src/claims/policy.js'
import type { NetworkConfList } from '../../../src/claims/cni-config.js'

const net = (plugins: Record<string, unknown>[]): NetworkConfList => ({
  cniVersion: '1.0.0',
  name: 'n',
  plugins,
})

const cases: {
  name: string
  plugins: Record<string, unknown>[]
  source: ConfigSource
  hostInterface?: string
  policy?: Policy
  want: string[]
}[] = [
  {
    name: 'allowed bridge + host-local',
    plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }],
    source: 'claim',
    want: [],
  },
  {
    name: 'host-device denied for tenants on attachment slots',
    plugins: [{ type: 'host-device', device: 'eth0' }],
    source: 'claim',
    want: [
      'network.plugins[0].type: plugin type "host-device" is not allowed for claims (allowed: bandwidth, bridge, firewall, host-local, ipvlan, loopback, macvlan, portmap, ptp, sbr, static, tuning, vlan); ask the cluster admin for a DeviceClass that provides this network',
    ],
  },
  {
    name: 'host-device allowed with an allocated host interface',
    plugins: [{ type: 'host-device' }],
    source: 'claim',
    hostInterface: 'veth9',
    want: [],
  },
  {
    name: 'class config may use any type',
    plugins: [{ type: 'host-device', device: 'x', dataDir: '/x' }],
    source: 'class',
    want: [],
  },
  {
    name: 'path separators rejected even from a class',
    plugins: [{ type: '../../bin/sh' }, { type: 'a\\b' }],
    source: 'class',
    want: [
      'network.plugins[0].type: must be a plugin name, not a path (the plugin is looked up in the CNI bin dirs)',
      'network.plugins[1].type: must be a plugin name, not a path (the plugin is looked up in the CNI bin dirs)',
    ],
  },
  {
    name: 'ipam type checked against the allow list',
    plugins: [{ type: 'macvlan', ipam: { type: 'dhcp' } }],
    source: 'claim',
    want: [
      'network.plugins[0].ipam.type: plugin type "dhcp" is not allowed for claims (allowed: bandwidth, bridge, firewall, host-local, ipvlan, loopback, macvlan, portmap, ptp, sbr, static, tuning, vlan); ask the cluster admin for a DeviceClass that provides this network',
    ],
  },
  {
    name: 'ipam type path-checked',
    plugins: [{ type: 'macvlan', ipam: { type: '/usr/bin/x' } }],
    source: 'class',
    want: [
      'network.plugins[0].ipam.type: must be a plugin name, not a path (the plugin is looked up in the CNI bin dirs)',
    ],
  },
  {
    name: 'forbidden keys at any depth, case-insensitive, in arrays, and by prefix',
    plugins: [
      {
        type: 'bridge',
        ipam: {
          type: 'host-local',
          DataDir: '/etc',
          ranges: [[{ subnet: '10.0.0.0/24', resolvConf: '/x' }]],
        },
        runtimeConfig: {},
        'cni.dev/evil': 1,
      },
    ],
    source: 'claim',
    want: [
      'network.plugins[0].ipam.DataDir: key "DataDir" may not be set in a claim (forbidden by the node policy)',
      'network.plugins[0].ipam.ranges[0][0].resolvConf: key "resolvConf" may not be set in a claim (forbidden by the node policy)',
      'network.plugins[0].runtimeConfig: key "runtimeConfig" may not be set in a claim (forbidden by the node policy)',
      'network.plugins[0]["cni.dev/evil"]: key "cni.dev/evil" may not be set in a claim (forbidden by the node policy)',
    ],
  },
  {
    name: 'empty type',
    plugins: [{ type: '' }],
    source: 'class',
    want: ['network.plugins[0].type: must be a non-empty string'],
  },
  {
    name: 'custom policy',
    plugins: [{ type: 'bridge', secret: 1 }],
    source: 'claim',
    policy: { allowedPluginTypes: ['ptp'], forbiddenKeys: ['secret'], claimConfig: 'allow' },
    want: [
      'network.plugins[0].type: plugin type "bridge" is not allowed for claims (allowed: ptp); ask the cluster admin for a DeviceClass that provides this network',
      'network.plugins[0].secret: key "secret" may not be set in a claim (forbidden by the node policy)',
    ],
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const got = networkPolicyProblems(net(c.plugins), c.policy ?? DEFAULT_POLICY, {
      source: c.source,
      path: 'network',
      hostInterface: c.hostInterface,
    })
    t.same(got, c.want)
  })
}

t.test('typeProblem', async t => {
  t.equal(typeProblem('bridge'), undefined)
  t.equal(typeProblem('..'), 'is not a plugin name')
  t.equal(typeProblem(3), 'must be a non-empty string')
})

t.test('forbiddenKeyProblems on scalars finds nothing', async t => {
  t.same(forbiddenKeyProblems('x', ['a'], 'p'), [])
})

t.test('claimConfig modes', async t => {
  const base = { apiVersion: 'network-dra.dev/v1alpha1', kind: 'CNIConfig' as const }
  const withNet = { ...base, network: net([{ type: 'bridge' }]) }
  const p = (m: Policy['claimConfig']): Policy => ({ ...DEFAULT_POLICY, claimConfig: m })
  t.same(claimConfigProblems(withNet, p('allow'), 'c'), [])
  t.same(claimConfigProblems(base, p('networkOnlyFromClass'), 'c'), [])
  t.match(claimConfigProblems(withNet, p('networkOnlyFromClass'), 'c'), [
    /^c\.network: networks may only come from a DeviceClass/,
  ])
  t.match(claimConfigProblems(base, p('deny'), 'c'), [
    /^c: this cluster does not allow CNI configuration in ResourceClaims/,
  ])
})

t.test('parsePolicy: defaults, overrides, strictness', async t => {
  t.equal(parsePolicy(undefined), DEFAULT_POLICY)
  t.same(parsePolicy({}), DEFAULT_POLICY)
  const p = parsePolicy({ allowedPluginTypes: ['ptp'], claimConfig: 'deny' })
  t.same(p.allowedPluginTypes, ['ptp'])
  t.same(p.forbiddenKeys, DEFAULT_POLICY.forbiddenKeys)
  t.equal(p.claimConfig, 'deny')
  t.throws(() => parsePolicy({ foo: 1, claimConfig: 'maybe' }, 'f.yaml'), {
    name: 'InvalidConfigError',
    problems: ['f.yaml.foo: unknown field', /^f\.yaml\.claimConfig: must be equal to one of/],
  })
  t.throws(() => parsePolicy({ allowedPluginTypes: ['a/b'] }), {
    name: 'InvalidConfigError',
    problems: ['policy.allowedPluginTypes[0]: "a/b" must be a bare plugin name'],
  })
})

t.test('loadPolicyFile reads YAML and JSON and names the file on errors', async t => {
  const dir = t.testdir({
    'p.yaml': 'claimConfig: networkOnlyFromClass\nforbiddenKeys: [foo]\n',
    'p.json': '{"allowedPluginTypes": ["bridge"]}',
    'bad.yaml': 'a: [',
  })
  t.equal((await loadPolicyFile(`${dir}/p.yaml`)).claimConfig, 'networkOnlyFromClass')
  t.same((await loadPolicyFile(`${dir}/p.json`)).allowedPluginTypes, ['bridge'])
  await t.rejects(loadPolicyFile(`${dir}/bad.yaml`), { message: /bad\.yaml: not JSON or YAML/ })
  await t.rejects(loadPolicyFile(`${dir}/missing.yaml`), { message: /missing\.yaml/ })
})

t.test('policyViolation carries the code and every problem', async t => {
  const e = policyViolation(['a', 'b'])
  t.equal(e.code, 'NDRA_POLICY_VIOLATION')
  t.equal(e.message, 'policy violation: a; b')
})
