// Invariant (issue 7 contract §6): the plugins, the result cache and IPAM only ever see the name the
// driver derived — `ndra.class.<name>` for admin networks, `ndra.ns.<namespace>.<name>` for a
// claim's network — so a claim calling its network `cbr0` cannot share the cluster network's state,
// nor one namespace's network another's; only `ndra.`-prefixed names count as the driver's for GC.
import t from 'tap'
import { derivedNetworkName, isDriverNetworkName } from '../../../src/claims/network-name.js'
import { buildAttachmentPlans } from '../../../src/claims/plan-builder.js'
import { parsePolicy } from '../../../src/claims/policy.js'
import type { ResourceClaimV1 } from '../../../src/claims/resource-claim.js'

const D = 'network-dra.dev'

t.test('derivedNetworkName', async t => {
  const cases = [
    { o: { source: 'class', namespace: 'a', name: 'corp' }, want: 'ndra.class.corp' },
    { o: { source: 'claim', namespace: 'a', name: 'corp' }, want: 'ndra.ns.a.corp' },
    { o: { source: 'claim', namespace: 'b', name: 'cbr0' }, want: 'ndra.ns.b.cbr0' },
  ] as const
  for (const c of cases) t.equal(derivedNetworkName(c.o), c.want, c.want)
})

t.test('isDriverNetworkName', async t => {
  const cases: [string, boolean][] = [
    ['ndra.ns.a.b', true],
    ['ndra.class.x', true],
    ['cbr0', false],
    ['ndra-x', false],
    ['NDRA.ns.a.b', false],
  ]
  for (const [name, want] of cases) t.equal(isDriverNetworkName(name), want, name)
})

const policy = parsePolicy({
  tenantNetworkNamespaces: ['ns', 'other'],
  allowedBridges: ['br-t'],
  allowedCIDRs: ['10.9.0.0/16'],
})
const network = (name: string) => ({
  cniVersion: '1.0.0',
  name,
  plugins: [
    {
      type: 'bridge',
      bridge: 'br-t',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.9.0.0/24' }]] },
    },
  ],
})
const claim = (
  source: 'FromClass' | 'FromClaim',
  name: string,
  namespace = 'ns',
): ResourceClaimV1 => ({
  metadata: { name: 'c', namespace, uid: 'u1' },
  status: {
    allocation: {
      devices: {
        results: [{ request: 'net', driver: D, pool: 'node', device: 'attachment-0' }],
        config: [
          {
            source,
            opaque: {
              driver: D,
              parameters: {
                apiVersion: `${D}/v1alpha1`,
                kind: 'CNIConfig',
                network: network(name),
              },
            },
          },
        ],
      },
    },
  },
})

const planCases: { name: string; claim: ResourceClaimV1; want?: string; err?: RegExp }[] = [
  { name: 'admin network', claim: claim('FromClass', 'blue'), want: 'ndra.class.blue' },
  {
    name: 'admin network names may keep dots',
    claim: claim('FromClass', 'corp.net'),
    want: 'ndra.class.corp.net',
  },
  {
    name: 'tenant network named like the cluster network',
    claim: claim('FromClaim', 'cbr0'),
    want: 'ndra.ns.ns.cbr0',
  },
  {
    name: 'the same tenant name in another namespace is another network',
    claim: claim('FromClaim', 'cbr0', 'other'),
    want: 'ndra.ns.other.cbr0',
  },
  {
    name: 'a tenant name with a dot is refused (rule network-name)',
    claim: claim('FromClaim', 'a.b'),
    err: /\[network-name\] .*network\.name: /,
  },
]
for (const c of planCases) {
  t.test(`plan builder: ${c.name}`, async t => {
    const run = () =>
      buildAttachmentPlans({
        claim: c.claim,
        driverName: D,
        nodeName: 'node',
        policy,
        hostInterface: () => undefined,
      })
    if (c.err) {
      t.throws(run, { code: 'NDRA_POLICY_VIOLATION', message: c.err })
      return
    }
    const plan = run()[0]
    t.equal(plan?.networkConfig['name'], c.want)
    t.match(plan?.networkConfig, { cniVersion: '1.0.0', plugins: [{ type: 'bridge' }] })
  })
}
