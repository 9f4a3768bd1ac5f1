// Invariant: the planner returns the plan builder's plans for a valid claim, turns a DriverError
// meant for the user into a prefixed per-claim message, and lets programming errors through.
import t from 'tap'
import { ClaimPlanner } from '../../../src/driver/claim-planner.js'
import { DEFAULT_POLICY, type Policy } from '../../../src/claims/policy.js'
import type { ResourceClaimV1 } from '../../../src/claims/resource-claim.js'

const allocated = (parameters: unknown) => ({
  metadata: { namespace: 'ns', name: 'c', uid: 'u1' },
  status: {
    allocation: {
      devices: {
        results: [
          { request: 'net', driver: 'network-dra.dev', pool: 'node-1', device: 'attachment-3' },
        ],
        config: [
          {
            source: 'FromClaim',
            requests: ['net'],
            opaque: { driver: 'network-dra.dev', parameters },
          },
        ],
      },
    },
  },
})
const cni = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'network-dra.dev/v1alpha1',
  kind: 'CNIConfig',
  interfaceName: 'net1',
  network: {
    cniVersion: '1.0.0',
    name: 'n',
    plugins: [
      {
        type: 'macvlan',
        master: 'eth9',
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/24' }]] },
      },
    ],
  },
  ...extra,
})

// Namespace "ns" may write networks on eth9 within 10.1.0.0/16.
const planner = new ClaimPlanner({
  driverName: 'network-dra.dev',
  nodeName: 'node-1',
  policy: {
    ...DEFAULT_POLICY,
    tenantNetworkNamespaces: ['ns'],
    allowedParentLinks: ['eth9'],
    allowedCIDRs: ['10.1.0.0/16'],
  },
  hostInterface: () => undefined,
})

t.test('valid claim → plans', async t => {
  const r = planner.plans(allocated(cni()))
  t.ok('plans' in r)
  if ('plans' in r)
    t.match(r.plans, [{ request: 'net', pool: 'node-1', device: 'attachment-3', ifName: 'net1' }])
})

const bad: { name: string; claim: ResourceClaimV1; want: RegExp; policy?: Policy }[] = [
  {
    name: 'unknown field',
    claim: allocated(cni({ interfaceNmae: 'x' })),
    want: /^network-dra: .*interfaceNmae/,
  },
  {
    name: 'not allocated',
    claim: { metadata: { namespace: 'ns', name: 'c', uid: 'u1' } },
    want: /^network-dra: .*not allocated/,
  },
  {
    name: 'forbidden key',
    claim: allocated(
      cni({
        network: {
          cniVersion: '1.0.0',
          name: 'n',
          plugins: [{ type: 'bridge', ipam: { type: 'host-local', dataDir: '/etc' } }],
        },
      }),
    ),
    want: /^network-dra: network-dra policy \[forbidden-key\] .*dataDir/,
  },
  {
    name: 'default policy: no raw networks',
    claim: allocated(cni()),
    policy: DEFAULT_POLICY,
    want: /^network-dra: network-dra policy \[tenant-network-namespace\] /,
  },
]
for (const c of bad) {
  t.test(c.name, async t => {
    const p =
      c.policy === undefined
        ? planner
        : new ClaimPlanner({
            driverName: 'network-dra.dev',
            nodeName: 'node-1',
            policy: c.policy,
            hostInterface: () => undefined,
          })
    const r = p.plans(c.claim)
    t.ok('error' in r)
    if ('error' in r) t.match(r.error, c.want)
  })
}

t.test('a non-DriverError is not swallowed', async t => {
  const broken = new ClaimPlanner({
    driverName: 'network-dra.dev',
    nodeName: 'node-1',
    policy: DEFAULT_POLICY,
    hostInterface: () => {
      throw new TypeError('bug')
    },
  })
  const hostClaim = allocated(cni())
  hostClaim.status.allocation.devices.results[0]!.device = 'host-eth9'
  t.throws(() => broken.plans(hostClaim), TypeError)
})
