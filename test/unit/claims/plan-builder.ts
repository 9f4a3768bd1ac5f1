// Invariant: plans are computed deterministically from the claim alone — one per allocation result
// of this driver on this node, interface names unique, host interfaces injected as master/device —
// claim networks run only in granted namespaces, claims set on admin networks only what their
// claimOverrides allow, and every way a claim can be wrong yields a typed error that says what to
// fix. A share of a shared host link (shareID) gets a child whose master is the allocated link —
// never a link the claim names — and is never moved by host-device; the plan keeps the shareID.
// (Every hostile input of the corpus is run through this planner in hostile-corpus.ts.)
import t from 'tap'
import { buildAttachmentPlans } from '../../../src/claims/plan-builder.js'
import { DEFAULT_POLICY, type Policy } from '../../../src/claims/policy.js'
import type {
  DeviceAllocationConfiguration,
  DeviceRequestAllocationResult,
  ResourceClaimV1,
} from '../../../src/claims/resource-claim.js'

const D = 'network-dra.dev'
const NODE = 'node-a'
const cfg = (fields: Record<string, unknown>) => ({
  apiVersion: `${D}/v1alpha1`,
  kind: 'CNIConfig',
  ...fields,
})
const net = (name: string, plugins: Record<string, unknown>[]) => ({
  cniVersion: '1.0.0',
  name,
  plugins,
})
const bridge = net('blue', [
  { type: 'bridge', bridge: 'br-t', ipam: { type: 'host-local', subnet: '10.9.0.0/24' } },
])
const res = (
  request: string,
  device: string,
  pool = NODE,
  driver = D,
): DeviceRequestAllocationResult => ({ request, driver, pool, device })
const claimCfg = (
  fields: Record<string, unknown>,
  requests?: string[],
): DeviceAllocationConfiguration => ({
  source: 'FromClaim',
  ...(requests ? { requests } : {}),
  opaque: { driver: D, parameters: cfg(fields) },
})
const classCfg = (
  fields: Record<string, unknown>,
  requests?: string[],
): DeviceAllocationConfiguration => ({
  ...claimCfg(fields, requests),
  source: 'FromClass',
})
const claim = (
  results?: DeviceRequestAllocationResult[],
  config: DeviceAllocationConfiguration[] = [],
): ResourceClaimV1 => ({
  metadata: { name: 'c', namespace: 'ns', uid: 'u1' },
  status: results === undefined ? {} : { allocation: { devices: { results, config } } },
})
/** The test namespace may write networks on br-t/up0 inside 10.0.0.0/8. */
const GRANTED: Policy = {
  ...DEFAULT_POLICY,
  tenantNetworkNamespaces: ['ns'],
  allowedParentLinks: ['up0'],
  allowedBridges: ['br-t'],
  allowedCIDRs: ['10.0.0.0/8'],
}
const hosts: Record<string, string> = {
  'host-veth-t1': 'veth-t1',
  'host-ndra-shared0': 'ndra-shared0',
  'host-eth0-100-ab12': 'eth0.100',
}

/** Two shares of the shared link `ndra-shared0` (KEP-5075 allocation results carry a shareID). */
const SHARE_A = '0b3f6a3e-2c1d-4a7e-9f00-000000000001'
const SHARE_B = '0b3f6a3e-2c1d-4a7e-9f00-000000000002'
const share = (request: string, shareID: string): DeviceRequestAllocationResult => ({
  ...res(request, 'host-ndra-shared0'),
  shareID,
})
const sharedMacvlan = net('shared-macvlan', [
  { type: 'macvlan', mode: 'bridge', ipam: { type: 'host-local', subnet: '10.10.7.0/24' } },
])

interface Case {
  name: string
  claim: ResourceClaimV1
  policy?: Policy
  want?: Record<string, unknown>[]
  err?: { code: string; message: RegExp | string }
}

const cases: Case[] = [
  {
    name: 'one slot, class network, default ifname',
    claim: claim([res('net', 'attachment-3')], [classCfg({ network: bridge })]),
    want: [
      {
        request: 'net',
        pool: NODE,
        device: 'attachment-3',
        networkConfig: bridge,
        ifName: 'net1',
        capabilityArgs: {},
        cniArgs: [],
      },
    ],
  },
  {
    name: 'other drivers results ignored; default names skip explicit ones; subrequest stored as main',
    claim: claim(
      [
        res('a', 'attachment-0'),
        res('gpu', 'gpu-0', NODE, 'gpu.example.com'),
        res('b/s1', 'attachment-1'),
        res('c', 'attachment-2'),
      ],
      [claimCfg({ network: bridge }), claimCfg({ interfaceName: 'net1' }, ['c'])],
    ),
    policy: GRANTED,
    want: [
      { request: 'a', device: 'attachment-0', ifName: 'net2' },
      { request: 'b', requestRef: 'b/s1', device: 'attachment-1', ifName: 'net3' },
      { request: 'c', requestRef: undefined, device: 'attachment-2', ifName: 'net1' },
    ],
  },
  {
    name: 'mac, ips and cniArgs become capability args and sorted CNI args',
    claim: claim(
      [res('r', 'attachment-0')],
      [
        claimCfg({
          network: net('m', [
            {
              type: 'macvlan',
              master: 'up0',
              capabilities: { mac: true, ips: true },
              ipam: { type: 'static' },
            },
          ]),
          mac: '02:00:00:00:00:09',
          ips: ['10.1.0.9/24'],
          cniArgs: { Z: '1', A: '2' },
        }),
      ],
    ),
    policy: GRANTED,
    want: [
      {
        capabilityArgs: { mac: '02:00:00:00:00:09', ips: ['10.1.0.9/24'] },
        cniArgs: [
          ['A', '2'],
          ['Z', '1'],
        ],
      },
    ],
  },
  {
    name: 'host interface injected as master for macvlan',
    claim: claim(
      [res('r', 'host-veth-t1')],
      [claimCfg({ network: net('m', [{ type: 'macvlan', mode: 'bridge' }]) })],
    ),
    policy: GRANTED,
    want: [
      {
        device: 'host-veth-t1',
        hostInterface: 'veth-t1',
        networkConfig: net('m', [{ type: 'macvlan', mode: 'bridge', master: 'veth-t1' }]),
      },
    ],
  },
  {
    name: 'host interface injected as device for tenant host-device',
    claim: claim(
      [res('r', 'host-eth0-100-ab12')],
      [claimCfg({ network: net('h', [{ type: 'host-device' }]) })],
    ),
    policy: GRANTED,
    want: [
      {
        hostInterface: 'eth0.100',
        networkConfig: net('h', [{ type: 'host-device', device: 'eth0.100' }]),
      },
    ],
  },
  {
    name: 'shared link: admin macvlan gets the allocated link as master, plan keeps the shareID',
    claim: claim([share('net', SHARE_A)], [classCfg({ network: sharedMacvlan })]),
    want: [
      {
        request: 'net',
        device: 'host-ndra-shared0',
        shareID: SHARE_A,
        hostInterface: 'ndra-shared0',
        networkConfig: {
          plugins: [{ type: 'macvlan', mode: 'bridge', master: 'ndra-shared0' }],
        },
      },
    ],
  },
  {
    name: 'shared link: two shares of one device in one claim stay two plans',
    claim: claim(
      [share('a', SHARE_A), share('b', SHARE_B)],
      [classCfg({ network: sharedMacvlan })],
    ),
    want: [
      { request: 'a', shareID: SHARE_A, ifName: 'net1' },
      { request: 'b', shareID: SHARE_B, ifName: 'net2' },
    ],
  },
  {
    name: 'shared link: a tenant master equal to the allocated link is allowed',
    policy: GRANTED,
    claim: claim(
      [share('r', SHARE_A)],
      [claimCfg({ network: net('m', [{ type: 'macvlan', master: 'ndra-shared0' }]) })],
    ),
    want: [{ shareID: SHARE_A, networkConfig: { plugins: [{ master: 'ndra-shared0' }] } }],
  },
  {
    name: 'shared link (hostile): a tenant master naming another link is refused',
    policy: GRANTED,
    claim: claim(
      [share('r', SHARE_A)],
      [claimCfg({ network: net('m', [{ type: 'macvlan', master: 'up0' }]) })],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /\[parent-link\] .*plugins\[0\]\.master: master "up0" is not the allocated host interface "ndra-shared0"; remove master to use it/,
    },
  },
  {
    name: 'shared link (hostile): tenant host-device would move the shared link away',
    policy: GRANTED,
    claim: claim(
      [share('r', SHARE_A)],
      [claimCfg({ network: net('h', [{ type: 'host-device' }]) })],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /\[parent-link\] .*plugins\[0\]\.type: host-device would move the shared host link "ndra-shared0" away/,
    },
  },
  {
    name: 'shared link: an admin host-device network on it is a config error',
    claim: claim(
      [share('r', SHARE_A)],
      [classCfg({ network: net('h', [{ type: 'host-device' }]) })],
    ),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message: /host-device would move the shared host link "ndra-shared0" away/,
    },
  },
  {
    name: 'shared link: an admin macvlan naming another master is a config error',
    claim: claim(
      [share('r', SHARE_A)],
      [classCfg({ network: net('m', [{ type: 'macvlan', master: 'eth0' }]) })],
    ),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message: /master is "eth0" but the allocated host interface is "ndra-shared0"/,
    },
  },
  {
    name: 'not allocated',
    claim: claim(undefined),
    err: {
      code: 'NDRA_CLAIM_NOT_ALLOCATED',
      message:
        'ResourceClaim ns/c is not allocated; it is allocated when a pod that uses it is scheduled',
    },
  },
  {
    name: 'no device of this driver',
    claim: claim([res('gpu', 'gpu-0', NODE, 'gpu.example.com')]),
    err: { code: 'NDRA_CLAIM_NOT_ALLOCATED', message: /has no device of driver network-dra\.dev/ },
  },
  {
    name: 'allocated on another node',
    claim: claim([res('r', 'attachment-0', 'node-b')], [classCfg({ network: bridge })]),
    err: {
      code: 'NDRA_CLAIM_NOT_ALLOCATED',
      message: /on another node \(node-b\/attachment-0\); this is node node-a/,
    },
  },
  {
    name: 'unknown device name',
    claim: claim([res('r', 'weird-0')]),
    err: {
      code: 'NDRA_INVALID_ARGUMENT',
      message: /device weird-0 is not a device this driver publishes/,
    },
  },
  {
    name: 'vanished host interface',
    claim: claim([res('r', 'host-gone')]),
    err: {
      code: 'NDRA_INVALID_ARGUMENT',
      message: /host-gone was allocated, but its host interface is no longer present/,
    },
  },
  {
    name: 'no network for a request',
    policy: GRANTED,
    claim: claim([res('r', 'attachment-0')], [claimCfg({ interfaceName: 'x' })]),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message:
        /request "r" \(device attachment-0\): no network configuration; add a CNIConfig with "network" to the claim's spec\.devices\.config \(requests: \["r"\]\) or use the DeviceClass of an admin network$/,
    },
  },
  {
    name: 'no network without the namespace grant points at admin networks only',
    claim: claim([res('r', 'attachment-0')]),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message:
        /no network configuration; use the DeviceClass of an admin network \(one that carries a network\)$/,
    },
  },
  {
    name: 'policy violation from tenant network also lists config errors',
    policy: GRANTED,
    claim: claim(
      [res('r', 'attachment-0'), res('s', 'attachment-1')],
      [
        claimCfg({ network: net('x', [{ type: 'host-device', device: 'eth0' }]) }, ['r']),
        claimCfg({ interfaceName: 'x' }, ['s']),
      ],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /^network-dra policy \[plugin-type\] status\.allocation\.devices\.config\[0\]\.opaque\.parameters\.network\.plugins\[0\]\.type: host-device moves a host NIC into the pod.* \| also invalid: request "s" \(device attachment-1\): no network configuration/,
    },
  },
  {
    name: 'tenant host-device pointing elsewhere',
    policy: GRANTED,
    claim: claim(
      [res('r', 'host-veth-t1')],
      [claimCfg({ network: net('h', [{ type: 'host-device', device: 'eth0' }]) })],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /\[parent-link\] .*plugins\[0\]\.device: host-device may move only the allocated host interface "veth-t1"; remove device;/,
    },
  },
  {
    name: 'class macvlan with a different master is a config error',
    claim: claim(
      [res('r', 'host-veth-t1')],
      [classCfg({ network: net('m', [{ type: 'macvlan', master: 'eth0' }]) })],
    ),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message: /master is "eth0" but the allocated host interface is "veth-t1"/,
    },
  },
  {
    name: 'host interface allocated but unused',
    claim: claim([res('r', 'host-veth-t1')], [classCfg({ network: bridge })]),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message: /a host interface \("veth-t1"\) was allocated but no plugin uses it/,
    },
  },
  {
    name: 'duplicate explicit interface names',
    claim: claim(
      [res('a', 'attachment-0'), res('b', 'attachment-1')],
      [classCfg({ network: bridge }), claimCfg({ interfaceName: 'same' })],
    ),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message: /interface name "same" is used by devices attachment-0 and attachment-1/,
    },
  },
  {
    name: 'mac on a multi-device request, and undeclared capability',
    claim: claim(
      [res('a', 'attachment-0'), res('a', 'attachment-1')],
      [classCfg({ network: bridge }), claimCfg({ mac: '02:00:00:00:00:01' })],
    ),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message:
        /"mac" is set but the request was allocated 2 devices.*no plugin of network "blue" declares capabilities: \{"mac": true\}/,
    },
  },
  {
    name: 'malformed config entry',
    claim: claim([res('a', 'attachment-0')], [claimCfg({ network: bridge, bogus: 1 })]),
    err: {
      code: 'NDRA_OPAQUE_CONFIG',
      message: /config\[0\]\.opaque\.parameters\.bogus: unknown field/,
    },
  },
  {
    name: 'a claim network outside the granted namespaces',
    claim: claim(
      [res('a', 'attachment-0')],
      [classCfg({ network: bridge }), claimCfg({ network: bridge, cniArgs: { A: 'b' } })],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /\[tenant-network-namespace\] status\.allocation\.devices\.config\[1\]\.opaque\.parameters\.network: namespace "ns" may not write a CNI network in a claim \(granted namespaces: none\);.*\[cni-args\] .*cniArgs: namespace "ns" may not set cniArgs/,
    },
  },
  {
    name: 'admin network: claim ips inside its IPAM subnet, any namespace',
    claim: claim(
      [res('a', 'attachment-0')],
      [
        classCfg({ network: net('c', [{ ...bridge.plugins[0], capabilities: { ips: true } }]) }),
        claimCfg({ ips: ['10.9.0.7/24'], interfaceName: 'corp1' }),
      ],
    ),
    want: [{ ifName: 'corp1', capabilityArgs: { ips: ['10.9.0.7/24'] } }],
  },
  {
    name: 'admin network: claim ips outside its subnets or claimOverrides.ips',
    claim: claim(
      [res('a', 'attachment-0'), res('b', 'attachment-1')],
      [
        classCfg({ network: bridge }, ['a']),
        classCfg({ network: bridge, claimOverrides: { ips: ['10.8.0.0/16'] } }, ['b']),
        claimCfg({ ips: ['10.10.0.7/24'] }),
      ],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /\[address-range\] .*config\[2\]\.opaque\.parameters\.ips\[0\]: "10\.10\.0\.7\/24" is not inside an allowed CIDR \(the IPAM subnets of admin network "blue": 10\.9\.0\.0\/24\).*\(claimOverrides\.ips of admin network "blue": 10\.8\.0\.0\/16\)/,
    },
  },
  {
    name: 'admin network: fields its claimOverrides close',
    claim: claim(
      [res('a', 'attachment-0')],
      [
        classCfg({
          network: bridge,
          claimOverrides: { interfaceName: false, mac: false, ips: [] },
        }),
        claimCfg({ interfaceName: 'x1', mac: '02:00:00:00:00:01', ips: ['10.9.0.7/24'] }),
      ],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /\[claim-override\] .*interfaceName: admin network "blue" does not let claims set interfaceName.*\[claim-override\] .*mac: .*\[claim-override\] .*ips: admin network "blue" does not let claims set ips/,
    },
  },
  {
    name: 'admin networks: cniVersion and interface names are still checked',
    claim: claim(
      [res('a', 'attachment-0')],
      [classCfg({ network: { ...bridge, cniVersion: '9.9.9' }, interfaceName: 'eth0' })],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /\[cni-version\] .*network\.cniVersion: "9\.9\.9" is not a CNI version this driver supports.*\[interface-name\] request "a" interfaceName: "eth0" already exists in every pod/,
    },
  },
  {
    name: 'admin networks may use any plugin type but never a path',
    claim: claim(
      [res('a', 'attachment-0')],
      [
        classCfg({
          network: net('p', [{ type: 'firewall' }, { type: '/bin/sh', ipam: { type: 'a/b' } }]),
        }),
      ],
    ),
    err: {
      code: 'NDRA_POLICY_VIOLATION',
      message:
        /^network-dra policy \[plugin-type\] .*plugins\[1\]\.type: must be a plugin name, not a path.* \| network-dra policy \[plugin-type\] .*plugins\[1\]\.ipam\.type: must be a plugin name, not a path[^|]*$/,
    },
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const run = () =>
      buildAttachmentPlans({
        claim: c.claim,
        driverName: D,
        nodeName: NODE,
        policy: c.policy ?? DEFAULT_POLICY,
        hostInterface: d => hosts[d],
      })
    if (c.err) {
      t.throws(run, c.err)
      return
    }
    const plans = run()
    t.match(plans, c.want)
    t.equal(plans.length, c.want?.length)
    t.same(run(), plans, 'deterministic')
  })
}

t.test('plans never alias the claim (injection works on a copy)', async t => {
  const c = claim(
    [res('r', 'host-veth-t1')],
    [claimCfg({ network: net('m', [{ type: 'macvlan' }]) })],
  )
  const before = JSON.stringify(c)
  buildAttachmentPlans({
    claim: c,
    driverName: D,
    nodeName: NODE,
    policy: GRANTED,
    hostInterface: d => hosts[d],
  })
  t.equal(JSON.stringify(c), before)
})
