// Invariant: a host-interface device is unhealthy exactly when its link is down or gone (unless an
// attachment moved it into a pod), an attached device is unhealthy exactly when its interface is
// missing or not up, or one of its CNI addresses is missing, in a still-existing pod namespace, an unreadable namespace makes
// it UNKNOWN (never HEALTHY), a vanished namespace is no fault; the list covers published and held
// devices, sorted, with messages bounded to the kubelet's 1024 characters. claimLinks names exactly
// the node links a claim depends on (held host interface, parent/bridge of its network, node side
// of its attachments), so events of other links can be ignored.
import t from 'tap'
import type { AttachmentPlan } from '../../../src/attach/attachment-plan.js'
import {
  claimLinks,
  computeDeviceHealth,
  MAX_HEALTH_MESSAGE,
  netnsKey,
  probedAttachments,
  type DeviceHealthInput,
  type NetnsView,
} from '../../../src/health/device-health.js'
import type { HostLink } from '../../../src/inventory/host-links.js'
import type { AttachmentRecord, ClaimRecord } from '../../../src/state/state-types.js'

const POOL = 'node-1'

const plan = (device: string, hostInterface?: string): AttachmentPlan => ({
  request: 'net',
  pool: POOL,
  device,
  ifName: 'net1',
  networkConfig: {},
  capabilityArgs: {},
  cniArgs: [],
  ...(hostInterface !== undefined ? { hostInterface } : {}),
})

const att = (
  device: string,
  opts: { netns?: string; phase?: 'attached' | 'failed'; ip?: string; ifName?: string } = {},
): AttachmentRecord => ({
  sandboxId: 'sb1',
  podUid: 'pu1',
  podName: 'p1',
  podNamespace: 'ns',
  request: 'net',
  device,
  ifName: opts.ifName ?? 'net1',
  netns: opts.netns ?? '/run/netns/a',
  netnsId: '4:100',
  networkName: 'n',
  phase: opts.phase ?? 'attached',
  result: {
    cniVersion: '1.0.0',
    interfaces: [{ name: opts.ifName ?? 'net1', sandbox: opts.netns ?? '/run/netns/a' }],
    ips: [{ address: opts.ip ?? '10.9.0.5/24', interface: 0 }],
  },
  updatedAt: '2026-01-01T00:00:00Z',
})

const claim = (plans: AttachmentPlan[], attachments: AttachmentRecord[]): ClaimRecord => ({
  uid: 'u1',
  namespace: 'ns',
  name: 'c1',
  plans,
  cdiDeviceIds: [],
  attachments,
  preparedAt: '2026-01-01T00:00:00Z',
})

const link = (name: string, state: string): HostLink => ({ name, state, addresses: [] })
const seen = (ifs: Record<string, string[]>, state = 'up'): NetnsView => ({
  kind: 'seen',
  interfaces: new Map(Object.entries(ifs).map(([k, addresses]) => [k, { state, addresses }])),
})
const views = (v: NetnsView, a: AttachmentRecord = att('x')): Map<string, NetnsView> =>
  new Map([[netnsKey(a), v]])

const base: DeviceHealthInput = {
  pool: POOL,
  published: [],
  links: [],
  claims: [],
  netns: new Map(),
}

const cases: {
  name: string
  input: Partial<DeviceHealthInput>
  want: [string, string, string][]
}[] = [
  {
    name: 'free slots and an up link are healthy',
    input: {
      published: ['attachment-1', 'attachment-0', 'host-eth1'],
      links: [link('eth1', 'up')],
    },
    want: [
      ['attachment-0', 'HEALTHY', ''],
      ['attachment-1', 'HEALTHY', ''],
      ['host-eth1', 'HEALTHY', ''],
    ],
  },
  {
    name: 'operstate unknown (virtual link without carrier detection) is healthy',
    input: { published: ['host-dummy0'], links: [link('dummy0', 'unknown')] },
    want: [['host-dummy0', 'HEALTHY', '']],
  },
  {
    name: 'a down link is unhealthy',
    input: { published: ['host-eth1'], links: [link('eth1', 'down')] },
    want: [['host-eth1', 'UNHEALTHY', 'host link eth1 is down']],
  },
  {
    name: 'lowerlayerdown (a VLAN whose parent lost carrier) is unhealthy',
    input: { published: ['host-eth1'], links: [link('eth1', 'lowerlayerdown')] },
    want: [['host-eth1', 'UNHEALTHY', 'host link eth1 is lowerlayerdown']],
  },
  {
    name: 'a held host device whose link is gone is unhealthy (not published any more)',
    input: { claims: [claim([plan('host-eth1', 'eth1')], [])] },
    want: [['host-eth1', 'UNHEALTHY', 'host link eth1 is gone from the node']],
  },
  {
    name: 'a host link moved into the pod (host-device) is judged by the attachment',
    input: {
      claims: [claim([plan('host-eth1', 'eth1')], [att('host-eth1')])],
      netns: views(seen({ net1: ['10.9.0.5/24'] })),
    },
    want: [['host-eth1', 'HEALTHY', '']],
  },
  {
    name: 'an attachment whose interface is gone from the pod is unhealthy',
    input: {
      published: ['attachment-0'],
      claims: [claim([plan('attachment-0')], [att('attachment-0')])],
      netns: views(seen({ lo: [], eth0: ['10.244.0.5/24'] })),
    },
    want: [['attachment-0', 'UNHEALTHY', 'interface net1 is gone from pod ns/p1']],
  },
  {
    name: 'an attachment that lost its CNI address is unhealthy',
    input: {
      published: ['attachment-0'],
      claims: [claim([plan('attachment-0')], [att('attachment-0')])],
      netns: views(seen({ net1: ['fe80::1/64'] })),
    },
    want: [['attachment-0', 'UNHEALTHY', 'interface net1 of pod ns/p1 lacks 10.9.0.5/24']],
  },
  {
    name: 'an attachment whose parent link went down (lowerlayerdown in the pod) is unhealthy',
    input: {
      published: ['attachment-0'],
      claims: [claim([plan('attachment-0')], [att('attachment-0')])],
      netns: views(seen({ net1: ['10.9.0.5/24'] }, 'lowerlayerdown')),
    },
    want: [['attachment-0', 'UNHEALTHY', 'interface net1 of pod ns/p1 is lowerlayerdown']],
  },
  {
    name: 'an attachment with its interface and address is healthy',
    input: {
      published: ['attachment-0'],
      claims: [claim([plan('attachment-0')], [att('attachment-0')])],
      netns: views(seen({ net1: ['10.9.0.5/24', 'fe80::1/64'] })),
    },
    want: [['attachment-0', 'HEALTHY', '']],
  },
  {
    name: 'a vanished namespace (sandbox torn down) is no fault',
    input: {
      published: ['attachment-0'],
      claims: [claim([plan('attachment-0')], [att('attachment-0')])],
      netns: views({ kind: 'gone' }),
    },
    want: [['attachment-0', 'HEALTHY', '']],
  },
  {
    name: 'an unreadable namespace is UNKNOWN',
    input: {
      published: ['attachment-0'],
      claims: [claim([plan('attachment-0')], [att('attachment-0')])],
      netns: views({ kind: 'error', message: 'nsenter: not found' }),
    },
    want: [
      [
        'attachment-0',
        'UNKNOWN',
        'cannot look into the network namespace of pod ns/p1: nsenter: not found',
      ],
    ],
  },
  {
    name: 'a definite fault wins over an unknown',
    input: {
      published: ['host-eth1'],
      links: [link('eth1', 'down')],
      claims: [claim([plan('host-eth1', 'eth1')], [att('host-eth1')])],
      netns: views({ kind: 'error', message: 'x' }),
    },
    want: [
      [
        'host-eth1',
        'UNHEALTHY',
        'host link eth1 is down; cannot look into the network namespace of pod ns/p1: x',
      ],
    ],
  },
  {
    name: 'failed attachments and plans of other pools are ignored',
    input: {
      claims: [
        claim(
          [plan('attachment-0'), { ...plan('attachment-9'), pool: 'node-2' }],
          [att('attachment-0', { phase: 'failed' })],
        ),
      ],
      netns: views(seen({})),
    },
    want: [['attachment-0', 'HEALTHY', '']],
  },
  {
    name: 'not probed yet is no fault',
    input: { claims: [claim([plan('attachment-0')], [att('attachment-0')])] },
    want: [['attachment-0', 'HEALTHY', '']],
  },
]

t.test('health rules', async t => {
  for (const c of cases) {
    const got = computeDeviceHealth({ ...base, ...c.input })
    t.same(
      got.map(d => [d.device, d.health, d.message]),
      c.want,
      c.name,
    )
    t.ok(
      got.every(d => d.pool === POOL),
      `${c.name}: pool`,
    )
  }
})

t.test('messages are bounded to the kubelet limit', async t => {
  const many = Array.from({ length: 60 }, (_, i) =>
    att('attachment-0', { ifName: `netlong${i}`, netns: '/run/netns/a' }),
  )
  const [d] = computeDeviceHealth({
    ...base,
    claims: [claim([plan('attachment-0')], many)],
    netns: views(seen({})),
  })
  t.equal(d?.health, 'UNHEALTHY')
  t.equal(d?.message.length, MAX_HEALTH_MESSAGE)
  t.ok(d?.message.endsWith('...'))
})

t.test('probedAttachments: attached ones with a namespace path', async t => {
  const list = probedAttachments([
    claim(
      [plan('attachment-0')],
      [att('attachment-0'), att('attachment-0', { phase: 'failed' }), att('a', { netns: '' })],
    ),
  ])
  t.equal(list.length, 1)
  t.not(netnsKey(att('x')), netnsKey({ netns: '/run/netns/a' }), 'identity is part of the key')
})

const linkCases: { name: string; claims: ClaimRecord[]; want: string[] }[] = [
  { name: 'nothing prepared', claims: [], want: [] },
  {
    name: 'host-device plan: the held host interface',
    claims: [claim([plan('host-eth1', 'eth1')], [])],
    want: ['eth1'],
  },
  {
    name: 'macvlan/bridge networks: master and bridge of any plugin',
    claims: [
      claim(
        [
          {
            ...plan('attachment-0'),
            networkConfig: {
              plugins: [{ type: 'macvlan', master: 'ens5' }, { type: 'tuning' }, null, 'x'],
            },
          },
          {
            ...plan('attachment-1'),
            networkConfig: { plugins: [{ type: 'bridge', bridge: 'br0' }] },
          },
          { ...plan('attachment-2'), networkConfig: { plugins: 'not-a-list' } },
        ],
        [],
      ),
    ],
    want: ['br0', 'ens5'],
  },
  {
    name: "node side of an attachment's result (veth peer, bridge); not the sandbox side",
    claims: [
      claim(
        [plan('attachment-0')],
        [
          {
            ...att('attachment-0'),
            result: {
              interfaces: [
                { name: 'br0', mac: '02:00:00:00:00:01' },
                { name: 'veth1a2b', mac: '02:00:00:00:00:02' },
                { name: 'net1', sandbox: '/run/netns/a' },
                { name: '' },
                'junk',
              ],
            },
          },
          { ...att('attachment-0'), result: { interfaces: 'junk' } },
        ],
      ),
    ],
    want: ['br0', 'veth1a2b'],
  },
]
for (const c of linkCases) {
  t.test(`claimLinks: ${c.name}`, async t => {
    t.same([...claimLinks(c.claims)].sort(), c.want)
  })
}
