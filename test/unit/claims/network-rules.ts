// Invariant: a network written in a claim runs only allowed plugin types (bare names; IPAM types
// only as IPAM; host-device only with an allocated host interface), names only allowed host links
// and bridges (required, pinned to the allocated interface when there is one, on every plugin),
// sets no host flag, no unlisted sysctl and no `args`, and every address it carries lies inside
// the allowed CIDRs and outside reserved ranges. cniVersion is checked statically on any network.
import t from 'tap'
import { parseNet, type IpNet } from '../../../src/claims/addresses.js'
import type { NetworkConfList } from '../../../src/claims/cni-config.js'
import { cniVersionProblems, rawNetworkProblems } from '../../../src/claims/network-rules.js'
import { DEFAULT_POLICY, type Policy } from '../../../src/claims/policy.js'

const policy: Policy = {
  ...DEFAULT_POLICY,
  allowedParentLinks: ['up0'],
  allowedBridges: ['br-t'],
  allowedCIDRs: ['10.9.0.0/16'],
  clusterCIDRs: ['10.96.0.0/12'],
  allowedSysctls: ['net.ipv4.conf.net1.arp_notify'],
}
const nets = (l: readonly string[]): IpNet[] => l.map(s => parseNet(s)).filter(n => n !== undefined)
const bounds = {
  allowed: nets(policy.allowedCIDRs),
  allowedName: 'policy.allowedCIDRs',
  cluster: nets(policy.clusterCIDRs),
}
const net = (plugins: Record<string, unknown>[], name = 'blue'): NetworkConfList => ({
  cniVersion: '1.0.0',
  name,
  plugins,
})
const hl = (subnet = '10.9.1.0/24') => ({ type: 'host-local', ranges: [[{ subnet }]] })

const cases: {
  name: string
  network: NetworkConfList
  hostInterface?: string
  policy?: Policy
  /** `<rule> <path below "network">` of every problem */
  want: string[]
}[] = [
  {
    name: 'allowed bridge + host-local',
    network: net([{ type: 'bridge', bridge: 'br-t', ipam: hl() }]),
    want: [],
  },
  {
    name: 'allowed macvlan, tuning with an allowed sysctl, sbr, bandwidth, loopback',
    network: net([
      { type: 'macvlan', master: 'up0', ipam: hl() },
      { type: 'tuning', sysctl: { 'net.ipv4.conf.net1.arp_notify': '1' } },
      { type: 'sbr' },
      { type: 'bandwidth', ingressRate: 1 },
      { type: 'loopback' },
    ]),
    want: [],
  },
  {
    name: 'host-device denied on attachment slots',
    network: net([{ type: 'host-device', device: 'eth0' }]),
    want: ['plugin-type .plugins[0].type'],
  },
  {
    name: 'host-device allowed with an allocated host interface, device injected or equal',
    network: net([{ type: 'host-device' }, { type: 'host-device', device: 'veth9' }]),
    hostInterface: 'veth9',
    want: [],
  },
  {
    name: 'host interface allocated but unused',
    network: net([{ type: 'ptp', ipam: hl() }]),
    hostInterface: 'veth9',
    want: ['parent-link .plugins'],
  },
  {
    name: 'macvlan pinned to the allocated interface',
    network: net([{ type: 'macvlan', master: 'up0' }, { type: 'vlan' }]),
    hostInterface: 'veth9',
    want: ['parent-link .plugins[0].master'],
  },
  {
    name: 'path separators and empty types',
    network: net([{ type: '../../bin/sh' }, { type: 'a\\b' }, { type: '' }]),
    want: [
      'plugin-type .plugins[0].type',
      'plugin-type .plugins[1].type',
      'plugin-type .plugins[2].type',
    ],
  },
  {
    name: 'IPAM types: allow-listed, IPAM only, present',
    network: net([
      { type: 'macvlan', master: 'up0', ipam: { type: 'dhcp' } },
      { type: 'macvlan', master: 'up0', ipam: { type: 'macvlan' } },
      { type: 'macvlan', master: 'up0', ipam: {} },
      { type: 'macvlan', master: 'up0', ipam: 'host-local' },
    ]),
    want: [
      'plugin-type .plugins[0].ipam.type',
      'plugin-type .plugins[1].ipam.type',
      'plugin-type .plugins[2].ipam.type',
      'plugin-type .plugins[3].ipam',
    ],
  },
  {
    name: 'parents: missing, unlisted, not a string; bridge missing or unlisted',
    network: net([
      { type: 'macvlan' },
      { type: 'ipvlan', master: 'eth0' },
      { type: 'vlan', master: ['up0'] },
      { type: 'bridge' },
      { type: 'bridge', bridge: 'cni0' },
    ]),
    want: [
      'parent-link .plugins[0].master',
      'parent-link .plugins[1].master',
      'parent-link .plugins[2].master',
      'parent-link .plugins[3].bridge',
      'parent-link .plugins[4].bridge',
    ],
  },
  {
    name: 'host NIC selectors outside host-device',
    network: net([
      { type: 'macvlan', master: 'up0', hwaddr: 'x', ipam: { ...hl(), pciBusID: 'y' } },
    ]),
    want: ['parent-link .plugins[0].hwaddr', 'parent-link .plugins[0].ipam.pciBusID'],
  },
  {
    name: 'host flags (false is harmless), firewall/portmap, args',
    network: net([
      { type: 'bridge', bridge: 'br-t', isGateway: true, ipMasq: false, hairpinMode: 1 },
      { type: 'firewall' },
      { type: 'portmap' },
      { type: 'ptp', args: { cni: { ips: ['10.9.0.1'] } } },
    ]),
    want: [
      'host-flag .plugins[0].isGateway',
      'host-flag .plugins[0].hairpinMode',
      'host-flag .plugins[1].type',
      'host-flag .plugins[2].type',
      'cni-args .plugins[3].args',
    ],
  },
  {
    name: 'sysctls',
    network: net([
      { type: 'tuning', sysctl: { 'net.ipv4.ip_forward': '1' } },
      { type: 'tuning', sysctl: 'x' },
    ]),
    want: ['sysctl .plugins[0].sysctl["net.ipv4.ip_forward"]', 'sysctl .plugins[1].sysctl'],
  },
  {
    name: 'addresses in every place a plugin reads them',
    network: net([
      {
        type: 'ptp',
        ips: ['169.254.1.1/32'],
        ipam: {
          type: 'host-local',
          subnet: '10.96.0.0/24',
          ranges: [[{ subnet: '10.9.2.0/24', rangeStart: '10.8.0.1', gateway: '127.0.0.1' }], 'x'],
          routes: [{ dst: '0.0.0.0/0', gw: '192.168.0.1' }, { dst: '1.2.3.4/32' }],
        },
      },
      {
        type: 'ptp',
        ipam: {
          type: 'static',
          addresses: [{ address: '10.9.3.4/24', gateway: '10.9.3.1' }, { address: '10.9.3.4' }],
        },
      },
    ]),
    want: [
      'reserved-address .plugins[0].ips[0]',
      'reserved-address .plugins[0].ipam.subnet',
      'address-range .plugins[0].ipam.ranges[0][0].rangeStart',
      'reserved-address .plugins[0].ipam.ranges[0][0].gateway',
      'address-range .plugins[0].ipam.ranges[1]',
      'address-range .plugins[0].ipam.routes[0].gw',
      'address-range .plugins[1].ipam.addresses[1].address',
    ],
  },
  {
    name: 'tenant network names',
    network: net([{ type: 'loopback' }], 'a.b'),
    want: ['network-name .name'],
  },
  {
    name: 'a custom policy',
    network: net([{ type: 'bridge', bridge: 'br-t' }]),
    policy: { ...policy, allowedPluginTypes: ['ptp'], allowedBridges: [] },
    want: ['plugin-type .plugins[0].type', 'parent-link .plugins[0].bridge'],
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const got = rawNetworkProblems(c.network, c.policy ?? policy, {
      path: 'network',
      hostInterface: c.hostInterface,
      bounds,
    })
    t.same(
      got.map(p => `${p.rule} ${p.path.slice('network'.length)}`).sort(),
      [...c.want].sort(),
      got.map(p => p.detail).join('\n'),
    )
    for (const p of got) t.ok(p.detail.length > 10, `detail: ${p.detail}`)
  })
}

t.test('cniVersion: only versions the driver knows, in cniVersions too', async t => {
  const n = { ...net([{ type: 'loopback' }]), cniVersion: '99.0.0', cniVersions: ['1.0.0', '1.0'] }
  t.same(
    cniVersionProblems(n, 'n').map(p => `${p.rule} ${p.path}`),
    ['cni-version n.cniVersion', 'cni-version n.cniVersions[1]'],
  )
  t.same(cniVersionProblems(net([{ type: 'loopback' }]), 'n'), [])
})
