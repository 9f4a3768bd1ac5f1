// Invariant: the policy file (v2) is strict — unknown fields (including the removed claimConfig),
// malformed CIDRs, namespaces and plugin paths are refused with the file named — missing fields
// take the documented defaults (no raw networks anywhere), and a violation lists every problem in
// the contract's format, once.
import t from 'tap'
import {
  DEFAULT_LIMITS,
  DEFAULT_POLICY,
  loadPolicyFile,
  parsePolicy,
  policyViolation,
  typeProblem,
} from '../../../src/claims/policy.js'
import { POLICY_RULES, problem } from '../../../src/claims/policy-rules.js'

t.test('defaults: admin networks only', async t => {
  t.equal(parsePolicy(undefined), DEFAULT_POLICY)
  t.same(parsePolicy({}), DEFAULT_POLICY)
  t.same(DEFAULT_POLICY.tenantNetworkNamespaces, [])
  t.same(DEFAULT_POLICY.allowedParentLinks, [])
  t.same(DEFAULT_POLICY.allowedCIDRs, [])
  t.same(DEFAULT_POLICY.limits, { maxDepth: 16, maxNodes: 2000, maxBytes: 16384 })
  for (const type of ['firewall', 'portmap', 'host-device', 'dhcp']) {
    t.notOk(DEFAULT_POLICY.allowedPluginTypes.includes(type), `${type} is not a default type`)
  }
})

t.test('overrides keep the other defaults', async t => {
  const p = parsePolicy({
    tenantNetworkNamespaces: ['team-a'],
    allowedPluginTypes: ['ptp'],
    allowedCIDRs: ['10.10.0.0/16', 'fd00::/64'],
    limits: { maxDepth: 8 },
  })
  t.same(p.tenantNetworkNamespaces, ['team-a'])
  t.same(p.allowedPluginTypes, ['ptp'])
  t.same(p.forbiddenKeys, DEFAULT_POLICY.forbiddenKeys)
  t.same(p.limits, { ...DEFAULT_LIMITS, maxDepth: 8 })
  t.ok(Object.isFrozen(p) && Object.isFrozen(p.allowedCIDRs))
})

const invalid: { name: string; input: unknown; problems: (string | RegExp)[] }[] = [
  {
    name: 'unknown fields, including the removed claimConfig',
    input: { foo: 1, claimConfig: 'allow' },
    problems: ['f.yaml.foo: unknown field', 'f.yaml.claimConfig: unknown field'],
  },
  {
    name: 'plugin types are bare names',
    input: { allowedPluginTypes: ['a/b'] },
    problems: ['f.yaml.allowedPluginTypes[0]: "a/b" must be a bare plugin name'],
  },
  {
    name: 'CIDRs must parse',
    input: { allowedCIDRs: ['10.0.0.0/33'], clusterCIDRs: ['10.96.0.0'] },
    problems: [
      'f.yaml.allowedCIDRs[0]: "10.0.0.0/33" is not a CIDR like 10.10.0.0/16',
      'f.yaml.clusterCIDRs[0]: "10.96.0.0" is not a CIDR like 10.10.0.0/16',
    ],
  },
  {
    name: 'namespaces are DNS labels',
    input: { tenantNetworkNamespaces: ['Team_A'] },
    problems: ['f.yaml.tenantNetworkNamespaces[0]: "Team_A" is not a namespace name'],
  },
  {
    name: 'limits are bounded integers',
    input: { limits: { maxDepth: 0, maxNodes: 1.5, other: 1 } },
    problems: [
      'f.yaml.limits.other: unknown field',
      /^f\.yaml\.limits\.maxDepth: must be >= 4/,
      /^f\.yaml\.limits\.maxNodes: must be integer/,
    ],
  },
  {
    name: 'empty strings',
    input: { allowedParentLinks: [''] },
    problems: [/^f\.yaml\.allowedParentLinks\[0\]: must NOT have fewer than 1 characters/],
  },
]

for (const c of invalid) {
  t.test(`parsePolicy refuses: ${c.name}`, async t => {
    t.throws(() => parsePolicy(c.input, 'f.yaml'), {
      name: 'InvalidConfigError',
      problems: c.problems,
    })
  })
}

t.test('loadPolicyFile reads YAML and JSON and names the file on errors', async t => {
  const dir = t.testdir({
    'p.yaml': 'tenantNetworkNamespaces: [demo]\nforbiddenKeys: [foo]\n',
    'p.json': '{"allowedPluginTypes": ["bridge"]}',
    'bad.yaml': 'a: [',
    'v1.yaml': 'claimConfig: allow\n',
  })
  const y = await loadPolicyFile(`${dir}/p.yaml`)
  t.same(y.tenantNetworkNamespaces, ['demo'])
  t.same(y.forbiddenKeys, ['foo'])
  t.same((await loadPolicyFile(`${dir}/p.json`)).allowedPluginTypes, ['bridge'])
  await t.rejects(loadPolicyFile(`${dir}/bad.yaml`), { message: /bad\.yaml: not JSON or YAML/ })
  await t.rejects(loadPolicyFile(`${dir}/missing.yaml`), { message: /missing\.yaml/ })
  await t.rejects(loadPolicyFile(`${dir}/v1.yaml`), {
    message: /v1\.yaml\.claimConfig: unknown field/,
  })
})

t.test('typeProblem', async t => {
  t.equal(typeProblem('bridge'), undefined)
  t.equal(typeProblem('..'), 'is not a plugin name')
  t.equal(
    typeProblem('a\\b'),
    'must be a plugin name, not a path (the plugin is looked up in the CNI bin dirs)',
  )
  t.equal(typeProblem(3), 'must be a non-empty string')
})

t.test('policyViolation: code, contract format, each problem once, config errors last', async t => {
  const p = problem('parent-link', 'x.master', 'master "eth0" is not an allowed parent link')
  const e = policyViolation([p, p, problem('sysctl', 'y', 'no')], ['z: unknown field'])
  t.equal(e.code, 'NDRA_POLICY_VIOLATION')
  t.equal(
    e.message,
    `network-dra policy [parent-link] x.master: master "eth0" is not an allowed parent link; ${POLICY_RULES['parent-link'].message}` +
      ` | network-dra policy [sysctl] y: no; ${POLICY_RULES.sysctl.message}` +
      ' | also invalid: z: unknown field',
  )
})
