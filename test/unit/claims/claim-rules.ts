// Invariant: a claim entry carries a network or cniArgs only from a granted namespace, never grants
// itself claimOverrides, uses valid interface names, and cannot inject or override CNI_ARGS (any
// case, any separator); on an admin network it sets only what claimOverrides allow, with ips inside
// the override ranges or the network's own IPAM subnets.
import t from 'tap'
import {
  claimEntryProblems,
  cniArgsProblems,
  interfaceNameRule,
  ipamSubnets,
  overrideProblems,
} from '../../../src/claims/claim-rules.js'
import type { CniConfig, NetworkConfList } from '../../../src/claims/cni-config.js'
import { DEFAULT_POLICY } from '../../../src/claims/policy.js'

const head = { apiVersion: 'network-dra.dev/v1alpha1', kind: 'CNIConfig' as const }
const network: NetworkConfList = {
  cniVersion: '1.0.0',
  name: 'corp',
  plugins: [
    { type: 'macvlan', ipam: { type: 'host-local', ranges: [[{ subnet: '10.20.0.0/24' }], 'x'] } },
    {
      type: 'ptp',
      ipam: {
        type: 'static',
        subnet: '10.21.0.0/24',
        addresses: [{ address: '10.22.0.5/24' }, { address: 'bad' }],
      },
    },
  ],
}
const rules = (ps: { rule: string; path: string }[]) => ps.map(p => `${p.rule} ${p.path}`)

t.test('namespace grant for networks and cniArgs; claimOverrides are admin-only', async t => {
  const cfg: CniConfig = { ...head, network, cniArgs: { A: 'b' }, claimOverrides: {} }
  t.same(
    rules(claimEntryProblems(cfg, 'c', DEFAULT_POLICY, { namespace: 'team', granted: false })),
    ['tenant-network-namespace c.network', 'cni-args c.cniArgs', 'claim-override c.claimOverrides'],
  )
  t.same(
    rules(claimEntryProblems(cfg, 'c', DEFAULT_POLICY, { namespace: 'team', granted: true })),
    ['claim-override c.claimOverrides'],
  )
})

const ifnames: { name: string; ok: boolean }[] = [
  { name: 'net1', ok: true },
  { name: 'a.b-c_d', ok: true },
  { name: 'eth0', ok: false },
  { name: 'lo', ok: false },
  { name: 'a/b', ok: false },
  { name: '..', ok: false },
  { name: '.', ok: false },
  { name: 'a:b', ok: false },
  { name: 'a b', ok: false },
  { name: 'abcdefghijklmnop', ok: false },
  { name: '', ok: false },
  { name: 'n\u00e9t', ok: false },
]
for (const c of ifnames) {
  t.test(`interface name ${JSON.stringify(c.name)}`, async t => {
    const got = interfaceNameRule(c.name, 'p')
    t.equal(got.length === 0, c.ok, got.map(p => p.detail).join('; '))
    for (const p of got) t.equal(p.rule, 'interface-name')
  })
}

const args: { name: string; args: Record<string, string>; bad: number }[] = [
  { name: 'plain pairs', args: { FOO: 'bar', 'x.y-z': '' }, bad: 0 },
  { name: 'separators in keys', args: { 'a=b': 'x', 'a;b': 'x', 'a b': 'x', '': 'x' }, bad: 4 },
  { name: 'separators and NUL in values', args: { A: 'x;y', B: 'x=y', C: 'a\u0000' }, bad: 3 },
  {
    name: 'reserved keys in any case',
    args: {
      K8S_POD_NAME: 'v',
      k8s_pod_uid: 'v',
      ignoreunknown: '1',
      Ip: '1',
      mac: 'x',
      GATEWAY: 'g',
    },
    bad: 6,
  },
  { name: 'reserved prefixes', args: { K8S_ANYTHING: 'v', NDRA_X: 'v', ndra_y: 'v' }, bad: 3 },
]
for (const c of args) {
  t.test(`cniArgs: ${c.name}`, async t => {
    const got = cniArgsProblems(c.args, 'c.cniArgs')
    t.equal(got.length, c.bad, got.map(p => p.detail).join('; '))
    for (const p of got) t.equal(p.rule, 'cni-args')
  })
}

t.test('ipamSubnets: host-local ranges, legacy subnet, static addresses', async t => {
  t.same(ipamSubnets(network), ['10.20.0.0/24', '10.21.0.0/24', '10.22.0.5/24'])
})

t.test('overrides on an admin network', async t => {
  const claim: CniConfig = {
    ...head,
    interfaceName: 'n1',
    mac: '02:00:00:00:00:01',
    ips: ['10.20.0.9/24', '10.22.0.9/24', '10.30.0.1/24'],
  }
  t.same(rules(overrideProblems(claim, 'c', { network, overrides: undefined }, DEFAULT_POLICY)), [
    'address-range c.ips[2]',
  ])
  t.same(
    rules(
      overrideProblems(
        claim,
        'c',
        { network, overrides: { ips: ['10.30.0.0/16'] } },
        DEFAULT_POLICY,
      ),
    ),
    ['address-range c.ips[0]', 'address-range c.ips[1]'],
  )
  t.same(
    rules(
      overrideProblems(
        claim,
        'c',
        { network, overrides: { interfaceName: false, mac: false, ips: [] } },
        DEFAULT_POLICY,
      ),
    ),
    ['claim-override c.interfaceName', 'claim-override c.mac', 'claim-override c.ips'],
  )
  const cluster = { ...DEFAULT_POLICY, clusterCIDRs: ['10.20.0.0/16'] }
  t.same(
    rules(
      overrideProblems(
        { ...head, ips: ['10.20.0.9/24'] },
        'c',
        { network, overrides: undefined },
        cluster,
      ),
    ),
    ['reserved-address c.ips[0]'],
  )
})
