// Invariant: the planner returns the plan builder's plans for a valid claim, turns a DriverError
// meant for the user into a prefixed per-claim message, turns findings of the reference and version
// checks into `network-dra policy [rule] …` problems joined by ` | ` (the reference check always,
// the version check on valid plans), never prefixes a policy violation twice,
// and lets programming errors and failures of the checks themselves through.
import t from 'tap'
import type { AttachmentPlan } from '../../../src/attach/attachment-plan.js'
import {
  ClaimPlanner,
  type ReferenceCheck,
  type VersionCheck,
} from '../../../src/driver/claim-planner.js'
import { parsePolicy } from '../../../src/claims/policy.js'
import { problem, type PolicyProblem } from '../../../src/claims/policy-rules.js'
import type { ResourceClaimV1 } from '../../../src/claims/resource-claim.js'
import { DriverError } from '../../../src/errors.js'

/** Records what it was asked and answers with preset findings (or a preset failure). */
class FakeChecks implements ReferenceCheck, VersionCheck {
  readonly seen: string[] = []
  constructor(
    readonly found: PolicyProblem[] = [],
    readonly fail?: Error,
  ) {}
  async problems(input: ResourceClaimV1 | readonly AttachmentPlan[]): Promise<PolicyProblem[]> {
    this.seen.push(Array.isArray(input) ? 'plans' : 'claim')
    if (this.fail) throw this.fail
    return this.found
  }
}
const signal = new AbortController().signal
/** Namespace `ns` may write raw networks on ndra-decoy0 inside 10.1.0.0/16. */
const POLICY = parsePolicy({
  tenantNetworkNamespaces: ['ns'],
  allowedParentLinks: ['ndra-decoy0'],
  allowedCIDRs: ['10.1.0.0/16'],
})

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
        master: 'ndra-decoy0',
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/24' }]] },
      },
    ],
  },
  ...extra,
})

const make = (references = new FakeChecks(), versions = new FakeChecks()) =>
  new ClaimPlanner({
    driverName: 'network-dra.dev',
    nodeName: 'node-1',
    policy: POLICY,
    hostInterface: () => undefined,
    references,
    versions,
  })
const planner = make()

t.test('valid claim → plans', async t => {
  const r = await planner.plans(allocated(cni()), signal)
  t.ok('plans' in r)
  if ('plans' in r)
    t.match(r.plans, [{ request: 'net', pool: 'node-1', device: 'attachment-3', ifName: 'net1' }])
})

const bad = [
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
    want: /^network-dra policy \[forbidden-key\] .*dataDir/,
  },
]
for (const c of bad) {
  t.test(c.name, async t => {
    const r = await planner.plans(c.claim, signal)
    t.ok('error' in r)
    if ('error' in r) t.match(r.error, c.want)
  })
}

t.test('a non-DriverError is not swallowed', async t => {
  const broken = new ClaimPlanner({
    driverName: 'network-dra.dev',
    nodeName: 'node-1',
    policy: POLICY,
    hostInterface: () => {
      throw new TypeError('bug')
    },
    references: new FakeChecks(),
    versions: new FakeChecks(),
  })
  const hostClaim = allocated(cni())
  hostClaim.status.allocation.devices.results[0]!.device = 'host-eth9'
  await t.rejects(broken.plans(hostClaim, signal), TypeError)
})

t.test('findings of both checks become one error, one formatted line each', async t => {
  const refs = new FakeChecks([
    problem('unreferenced-claim', 'pod p spec.resourceClaims[net]', 'x'),
  ])
  const vers = new FakeChecks([problem('cni-version', 'request "net" network.cniVersion', 'y')])
  const r = await make(refs, vers).plans(allocated(cni()), signal)
  t.same(refs.seen, ['claim'])
  t.same(vers.seen, ['plans'])
  t.ok('error' in r)
  if (!('error' in r)) return
  const lines = r.error.split(' | ')
  t.equal(lines.length, 2)
  t.match(
    lines[0],
    /^network-dra policy \[unreferenced-claim\] pod p spec\.resourceClaims\[net\]: x; /,
  )
  t.match(lines[1], /^network-dra policy \[cni-version\] request "net" network\.cniVersion: y; /)
})

t.test('references are checked whatever the config; versions only on valid plans', async t => {
  const refs = new FakeChecks([
    problem('unreferenced-claim', 'pod p spec.resourceClaims[net]', 'x'),
  ])
  const vers = new FakeChecks()
  const r = await make(refs, vers).plans(allocated(cni({ interfaceNmae: 'x' })), signal)
  t.same(refs.seen, ['claim'])
  t.same(vers.seen, [])
  t.ok('error' in r)
  if (!('error' in r)) return
  const lines = r.error.split(' | ')
  t.match(lines, [/^network-dra policy \[unreferenced-claim\] /, /^network-dra: .*interfaceNmae/])
})

t.test('a check that cannot decide rejects with its own error', async t => {
  const fail = new DriverError('NDRA_KUBE_API', 'reading Pod ns/p: 500')
  await t.rejects(make(new FakeChecks([], fail)).plans(allocated(cni()), signal), fail)
})
