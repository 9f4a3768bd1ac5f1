// Invariant: opaque config precedence is class < claim, earlier < later, request-scoped entries
// only reach their requests (`req` covers `req/sub`), other drivers' entries are ignored, a claim
// entry is measured against the limits and its network's keys judged before its shape, the
// namespace grant decides whether a claim may carry a network, and an admin network's
// claimOverrides travel with it.
import t from 'tap'
import {
  entryAppliesTo,
  mergeForRequest,
  parseConfigEntries,
} from '../../../src/claims/config-merge.js'
import type { ClaimContext } from '../../../src/claims/claim-rules.js'
import { DEFAULT_POLICY } from '../../../src/claims/policy.js'
import type { DeviceAllocationConfiguration } from '../../../src/claims/resource-claim.js'

const D = 'network-dra.dev'
const cfg = (fields: Record<string, unknown>) => ({
  apiVersion: `${D}/v1alpha1`,
  kind: 'CNIConfig',
  ...fields,
})
const netA = { cniVersion: '1.0.0', name: 'a', plugins: [{ type: 'bridge' }] }
const netB = { cniVersion: '1.0.0', name: 'b', plugins: [{ type: 'ptp' }] }
const granted: ClaimContext = { namespace: 'ns', granted: true }
const entry = (
  source: 'FromClass' | 'FromClaim',
  fields: Record<string, unknown>,
  requests?: string[],
  driver = D,
): DeviceAllocationConfiguration => ({
  source,
  ...(requests ? { requests } : {}),
  opaque: { driver, parameters: cfg(fields) },
})

const cases: {
  name: string
  config: DeviceAllocationConfiguration[]
  request: string
  want: Record<string, unknown>
}[] = [
  {
    name: 'class only',
    config: [entry('FromClass', { network: netA, interfaceName: 'x1' })],
    request: 'r',
    want: {
      interfaceName: 'x1',
      network: netA,
      networkSource: 'class',
      networkPath: 'status.allocation.devices.config[0].opaque.parameters.network',
      cniArgs: {},
    },
  },
  {
    name: 'claim overrides class even when listed first',
    config: [
      entry('FromClaim', { network: netB, mac: '02:00:00:00:00:02' }),
      entry('FromClass', { network: netA, mac: '02:00:00:00:00:01' }),
    ],
    request: 'r',
    want: {
      network: netB,
      networkSource: 'claim',
      networkPath: 'status.allocation.devices.config[0].opaque.parameters.network',
      mac: '02:00:00:00:00:02',
      cniArgs: {},
    },
  },
  {
    name: 'later claim entry wins; fields merge individually; cniArgs merge by key',
    config: [
      entry('FromClass', { network: netA, cniArgs: { A: '1', B: '1' } }),
      entry('FromClaim', { interfaceName: 'n1', cniArgs: { B: '2' } }),
      entry('FromClaim', { interfaceName: 'n2', ips: ['10.0.0.1/24'], cniArgs: { C: '3' } }),
    ],
    request: 'r',
    want: {
      network: netA,
      networkSource: 'class',
      networkPath: 'status.allocation.devices.config[0].opaque.parameters.network',
      interfaceName: 'n2',
      ips: ['10.0.0.1/24'],
      cniArgs: { A: '1', B: '2', C: '3' },
    },
  },
  {
    name: 'request-scoped entries only reach their request',
    config: [
      entry('FromClaim', { network: netA }),
      entry('FromClaim', { network: netB }, ['other']),
    ],
    request: 'r',
    want: {
      network: netA,
      networkSource: 'claim',
      networkPath: 'status.allocation.devices.config[0].opaque.parameters.network',
      cniArgs: {},
    },
  },
  {
    name: 'main request name covers subrequests; sub name only that sub',
    config: [
      entry('FromClaim', { network: netA }, ['r']),
      entry('FromClaim', { interfaceName: 'sub1' }, ['r/s1']),
      entry('FromClaim', { interfaceName: 'sub2' }, ['r/s2']),
    ],
    request: 'r/s1',
    want: {
      network: netA,
      networkSource: 'claim',
      networkPath: 'status.allocation.devices.config[0].opaque.parameters.network',
      interfaceName: 'sub1',
      cniArgs: {},
    },
  },
  {
    name: 'other drivers ignored (even if not a CNIConfig)',
    config: [
      {
        source: 'FromClaim',
        opaque: { driver: 'gpu.example.com', parameters: { whatever: true } },
      },
      entry('FromClaim', { network: netA }),
    ],
    request: 'r',
    want: {
      network: netA,
      networkSource: 'claim',
      networkPath: 'status.allocation.devices.config[1].opaque.parameters.network',
      cniArgs: {},
    },
  },
  { name: 'nothing applies', config: [], request: 'r', want: { cniArgs: {} } },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const parsed = parseConfigEntries(c.config, {
      driverName: D,
      policy: DEFAULT_POLICY,
      claim: granted,
    })
    t.same(parsed.errors, [])
    t.same(parsed.policyProblems, [])
    t.same(mergeForRequest(parsed.entries, c.request), c.want)
  })
}

t.test('malformed entries are reported with paths, valid ones still parsed', async t => {
  const parsed = parseConfigEntries(
    [
      entry('FromClass', { network: netA }),
      { source: 'FromClaim', opaque: { driver: D, parameters: { kind: 'CNIConfig' } } },
    ],
    { driverName: D, policy: DEFAULT_POLICY, claim: granted },
  )
  t.same(parsed.dropped, [[]])
  t.same(parsed.errors, [
    'status.allocation.devices.config[1].opaque.parameters: missing required field "apiVersion"',
  ])
  t.equal(parsed.entries.length, 1)
})

t.test('the namespace grant and the key rules apply to claim entries only', async t => {
  const parse = (claim: ClaimContext) =>
    parseConfigEntries(
      [
        entry('FromClass', { network: { ...netA, plugins: [{ type: 'bridge', IPAM: {} }] } }),
        entry('FromClaim', { interfaceName: 'ok1' }),
        entry('FromClaim', { network: { ...netB, plugins: [{ type: 'bridge', Bridge: 'x' }] } }),
      ],
      { driverName: D, policy: DEFAULT_POLICY, claim },
    )
  const refused = parse({ namespace: 'team', granted: false })
  t.same(
    refused.policyProblems.map(p => `${p.rule} ${p.path}`),
    [
      'key-spelling status.allocation.devices.config[2].opaque.parameters.network.plugins[0].Bridge',
      'tenant-network-namespace status.allocation.devices.config[2].opaque.parameters.network',
    ],
  )
  t.match(refused.policyProblems[1]?.detail, /namespace "team" may not write a CNI network/)
  t.same(
    parse({ namespace: 'team', granted: true }).policyProblems.map(p => p.rule),
    ['key-spelling'],
  )
})

t.test('a claim entry over a limit is dropped with one problem naming the limit', async t => {
  let deep: unknown = 0
  for (let i = 0; i < 3000; i++) deep = [deep]
  const parsed = parseConfigEntries(
    [entry('FromClaim', { network: { ...netA, plugins: [{ type: 'bridge', x: deep }] } }, ['r'])],
    { driverName: D, policy: DEFAULT_POLICY, claim: granted },
  )
  t.same(parsed.entries, [])
  t.same(parsed.dropped, [['r']])
  t.equal(parsed.policyProblems.length, 1)
  t.match(parsed.policyProblems[0], { rule: 'limits', detail: /maxDepth 16/ })
})

t.test('claimOverrides come only from the class entry that set the network', async t => {
  const overrides = { ips: ['10.1.0.0/24'] }
  const parsed = parseConfigEntries(
    [
      entry('FromClass', { network: netA, claimOverrides: overrides }),
      entry('FromClaim', { mac: '02:00:00:00:00:01' }),
    ],
    { driverName: D, policy: DEFAULT_POLICY, claim: granted },
  )
  t.same(mergeForRequest(parsed.entries, 'r').claimOverrides, overrides)
  const replaced = parseConfigEntries(
    [
      entry('FromClass', { network: netA, claimOverrides: overrides }),
      entry('FromClaim', { network: netB }),
    ],
    { driverName: D, policy: DEFAULT_POLICY, claim: granted },
  )
  t.equal(mergeForRequest(replaced.entries, 'r').claimOverrides, undefined)
})

t.test('apiGroup follows the driver name unless given', async t => {
  const other = 'net.example.com'
  const c = [
    {
      source: 'FromClaim',
      opaque: { driver: other, parameters: { apiVersion: `${other}/v1alpha1`, kind: 'CNIConfig' } },
    },
  ]
  t.same(
    parseConfigEntries(c, { driverName: other, policy: DEFAULT_POLICY, claim: granted }).errors,
    [],
  )
  t.equal(
    parseConfigEntries(c, {
      driverName: other,
      policy: DEFAULT_POLICY,
      apiGroup: D,
      claim: granted,
    }).errors.length,
    1,
  )
})

t.test('entryAppliesTo', async t => {
  const e = {
    index: 0,
    source: 'claim' as const,
    requests: ['a/x'],
    config: cfg({}) as never,
    path: '',
  }
  t.ok(entryAppliesTo(e, 'a/x'))
  t.notOk(entryAppliesTo(e, 'a/y'))
  t.notOk(entryAppliesTo(e, 'a'))
})
