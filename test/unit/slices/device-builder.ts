// Invariant: published devices always satisfy the API limits — DNS-label names that never
// collide, C-identifier attribute names, string values ≤64 (dropped, never truncated), ≤32
// attributes — and pools split into slices of at most 128 devices (an empty pool is one slice).
// A shared host link is one device with allowMultipleAllocations and a children capacity of which
// each allocation consumes exactly one, published instead of (never besides) its exclusive device.
import t from 'tap'
import {
  attachmentDevices,
  exclusiveFallback,
  hostDeviceName,
  hostInterfaceDevice,
  hostInterfaceIndex,
  linkDownTaintKey,
  maxDevicesFor,
  poolDevices,
  sharedHostLinkDevice,
  splitDevices,
  type LinkDownTaint,
} from '../../../src/slices/device-builder.js'
import { parseSharedHostLinks } from '../../../src/slices/shared-host-links.js'

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

t.test('attachment slots', async t => {
  const d = attachmentDevices(3)
  t.same(
    d.map(x => x.name),
    ['attachment-0', 'attachment-1', 'attachment-2'],
  )
  t.same(d[0]?.attributes, { kind: { string: 'attachment' } })
})

const names: [string, string | RegExp][] = [
  ['eth0', 'host-eth0'],
  ['veth-ab1', 'host-veth-ab1'],
  ['eth0.100', /^host-eth0-100-[0-9a-f]{6}$/],
  ['Eth_0', /^host-eth-0-[0-9a-f]{6}$/],
  ['___', /^host-[0-9a-f]{6}$/],
  ['enp0s31f6-', /^host-enp0s31f6-[0-9a-f]{6}$/],
]
for (const [ifname, want] of names) {
  t.test(`hostDeviceName(${ifname})`, async t => {
    const got = hostDeviceName(ifname)
    t.match(got, want)
    t.match(got, DNS_LABEL)
  })
}

t.test('sanitised names of different interfaces never collide', async t => {
  t.not(hostDeviceName('eth0.100'), hostDeviceName('eth0_100'))
  t.not(hostDeviceName('eth0.100'), hostDeviceName('eth0-100'))
})

t.test('host interface attributes, limits respected', async t => {
  const d = hostInterfaceDevice({
    name: 'eth1',
    mac: '02:00:00:00:00:01',
    mtu: 9000,
    driver: 'ixgbe',
    pciAddress: '0000:3b:00.0',
    numaNode: 1,
    state: 'up',
    addresses: ['fd00::1/64', '192.0.2.10/24', '192.0.2.11/24'],
  })
  t.same(d, {
    name: 'host-eth1',
    attributes: {
      kind: { string: 'host-interface' },
      interfaceName: { string: 'eth1' },
      macAddress: { string: '02:00:00:00:00:01' },
      mtu: { int: 9000 },
      driver: { string: 'ixgbe' },
      pciAddress: { string: '0000:3b:00.0' },
      numaNode: { int: 1 },
      state: { string: 'up' },
      ipv4: { string: '192.0.2.10/24' },
      ipv6: { string: 'fd00::1/64' },
    },
  })
  for (const k of Object.keys(d.attributes ?? {})) t.match(k, /^[A-Za-z_][A-Za-z0-9_]{0,31}$/)
  t.ok(Object.keys(d.attributes ?? {}).length <= 32)
  const long = hostInterfaceDevice({
    name: 'x',
    state: 'up',
    addresses: [],
    driver: 'd'.repeat(65),
  })
  t.equal(long.attributes?.['driver'], undefined, 'too-long value dropped, not truncated')
})

t.test('pool order: slots first, then hosts by name; index maps back', async t => {
  const links = [
    { name: 'b', state: 'up', addresses: [] },
    { name: 'a.1', state: 'down', addresses: [] },
  ]
  const p = poolDevices(2, links)
  t.same(p.map(d => d.name).slice(0, 3), ['attachment-0', 'attachment-1', hostDeviceName('a.1')])
  t.equal(p[3]?.name, 'host-b')
  const idx = hostInterfaceIndex(links)
  t.equal(idx.get(hostDeviceName('a.1')), 'a.1')
  t.equal(idx.get('host-b'), 'b')
})

const splits: [number, number[]][] = [
  [0, [0]],
  [1, [1]],
  [128, [128]],
  [129, [128, 1]],
  [300, [128, 128, 44]],
]
for (const [n, want] of splits) {
  t.test(`split ${n}`, async t => {
    t.same(
      splitDevices(attachmentDevices(n)).map(c => c.length),
      want,
    )
  })
}
t.test('custom split size', async t => {
  t.same(
    splitDevices(attachmentDevices(5), 2).map(c => c.length),
    [2, 2, 1],
  )
})

t.test('link-down taint (KEP-5055)', async t => {
  const taint: LinkDownTaint = { key: 'network-dra.dev/link-down', effect: 'NoSchedule' }
  const cases: { name: string; state: string; taint?: LinkDownTaint; want: unknown }[] = [
    { name: 'up: no taint', state: 'up', taint, want: undefined },
    { name: 'unknown (virtual link up): no taint', state: 'unknown', taint, want: undefined },
    {
      name: 'down',
      state: 'down',
      taint,
      want: [{ key: 'network-dra.dev/link-down', value: 'down', effect: 'NoSchedule' }],
    },
    {
      name: 'lowerlayerdown, NoExecute',
      state: 'lowerlayerdown',
      taint: { ...taint, effect: 'NoExecute' },
      want: [{ key: 'network-dra.dev/link-down', value: 'lowerlayerdown', effect: 'NoExecute' }],
    },
    {
      name: 'a state that is no label value reads as down',
      state: 'weird state!',
      taint,
      want: [{ key: 'network-dra.dev/link-down', value: 'down', effect: 'NoSchedule' }],
    },
    { name: 'taints off', state: 'down', want: undefined },
  ]
  for (const c of cases) {
    const d = hostInterfaceDevice({ name: 'eth1', state: c.state, addresses: [] }, c.taint)
    t.same(d.taints, c.want, c.name)
  }
  t.equal(linkDownTaintKey('net.example.com'), 'net.example.com/link-down')
  const pool = poolDevices(2, [{ name: 'eth1', state: 'down', addresses: [] }], taint)
  t.equal(maxDevicesFor(pool, 128), 64, 'a tainted device lowers the slice limit')
  t.equal(maxDevicesFor(poolDevices(2, []), 128), 128)
  t.equal(maxDevicesFor(pool, 10), 10)
})

t.test('shared host link (KEP-5075): one shareable device, each allocation one child', async t => {
  const link = { name: 'ndra-shared0', mac: '02:00:00:00:00:01', state: 'up', addresses: [] }
  const d = sharedHostLinkDevice(link, 3)
  t.same(d, {
    name: 'host-ndra-shared0',
    attributes: {
      kind: { string: 'shared-host-link' },
      interfaceName: { string: 'ndra-shared0' },
      macAddress: { string: '02:00:00:00:00:01' },
      state: { string: 'up' },
    },
    capacity: { children: { value: '3', requestPolicy: { default: '1', validValues: ['1'] } } },
    allowMultipleAllocations: true,
  })
  const taint: LinkDownTaint = { key: linkDownTaintKey('network-dra.dev'), effect: 'NoSchedule' }
  const down = sharedHostLinkDevice({ ...link, state: 'down' }, 3, taint)
  t.same(down.taints, [{ key: 'network-dra.dev/link-down', value: 'down', effect: 'NoSchedule' }])
  t.ok(
    Object.keys(d.attributes ?? {}).length + Object.keys(d.capacity ?? {}).length <= 32,
    'attributes + capacities ≤ 32',
  )
})

t.test('pool: a shared link is published once, as its shared device', async t => {
  const { rules } = parseSharedHostLinks('[{"pattern":"^ndra-shared","capacity":4}]')
  const links = [
    { name: 'ndra-shared0', state: 'up', addresses: [] },
    { name: 'ndra-hostif0', state: 'up', addresses: [] },
  ]
  const pool = poolDevices(1, links, undefined, rules)
  t.same(
    pool.map(d => [d.name, d.attributes?.['kind'], d.allowMultipleAllocations ?? false]),
    [
      ['attachment-0', { string: 'attachment' }, false],
      ['host-ndra-hostif0', { string: 'host-interface' }, false],
      ['host-ndra-shared0', { string: 'shared-host-link' }, true],
    ],
  )
  t.equal(pool[2]?.capacity?.['children']?.value, '4')
  t.equal(hostInterfaceIndex(links).get('host-ndra-shared0'), 'ndra-shared0', 'plan builder index')
})

t.test('exclusive fallback: a shared device becomes the host-interface device', async t => {
  const link = { name: 'ndra-shared0', state: 'down', addresses: [] }
  const taint: LinkDownTaint = { key: 'network-dra.dev/link-down', effect: 'NoSchedule' }
  t.same(exclusiveFallback(sharedHostLinkDevice(link, 3, taint)), hostInterfaceDevice(link, taint))
  const slot = attachmentDevices(1)[0]
  t.equal(slot && exclusiveFallback(slot), slot, 'other devices unchanged')
})
