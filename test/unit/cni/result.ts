// Invariant: results convert between spec families exactly as libcni's GetAsVersion does (1.x ↔
// 0.3/0.4 ↔ 0.1/0.2), plugin output without cniVersion takes the config's, unknown fields are
// dropped, and networkDataFromResult reports the sandbox interface with its CIDRs and MAC.
import t from 'tap'
import {
  convertResult,
  networkDataFromResult,
  normalizeResult,
  parseResult,
} from '../../../src/cni/result.js'

const r110 = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'br0', mac: '02:00:00:00:00:aa' },
    {
      name: 'net1',
      mac: '02:00:00:00:00:01',
      mtu: 1400,
      sandbox: '/run/netns/x',
      pciID: '0000:01:00.0',
    },
  ],
  ips: [
    { interface: 1, address: '10.0.0.2/24', gateway: '10.0.0.1' },
    { interface: 1, address: 'fd00::2/64' },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 1300, table: 5 }, { dst: '::/0' }],
  dns: { nameservers: ['10.0.0.1'] },
}

const table = [
  {
    name: '1.1.0 -> 1.0.0 keeps fields',
    from: r110,
    to: '1.0.0',
    want: { ...r110, cniVersion: '1.0.0' },
  },
  {
    name: '1.1.0 -> 0.4.0 adds version, drops 1.x fields',
    from: r110,
    to: '0.4.0',
    want: {
      cniVersion: '0.4.0',
      interfaces: [
        { name: 'br0', mac: '02:00:00:00:00:aa' },
        { name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/run/netns/x' },
      ],
      ips: [
        { version: '4', interface: 1, address: '10.0.0.2/24', gateway: '10.0.0.1' },
        { version: '6', interface: 1, address: 'fd00::2/64' },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }, { dst: '::/0' }],
      dns: { nameservers: ['10.0.0.1'] },
    },
  },
  {
    name: '1.1.0 -> 0.2.0 keeps first v4/v6 with routes by family',
    from: r110,
    to: '0.2.0',
    want: {
      cniVersion: '0.2.0',
      ip4: {
        ip: '10.0.0.2/24',
        gateway: '10.0.0.1',
        routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }],
      },
      ip6: { ip: 'fd00::2/64', routes: [{ dst: '::/0' }] },
      dns: { nameservers: ['10.0.0.1'] },
    },
  },
  {
    name: '0.4.0 -> 1.0.0 drops version',
    from: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.2/16' }], routes: [] },
    to: '1.0.0',
    want: { cniVersion: '1.0.0', ips: [{ address: '10.1.0.2/16' }] },
  },
  {
    name: '0.3.1 -> 0.4.0 only changes the version',
    from: { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.0.2/16' }] },
    to: '0.4.0',
    want: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.2/16' }] },
  },
  {
    name: '0.2.0 -> 1.1.0 lifts ip4/ip6',
    from: {
      cniVersion: '0.2.0',
      ip4: { ip: '10.2.0.2/24', gateway: '10.2.0.1', routes: [{ dst: '10.9.0.0/16' }] },
      ip6: { ip: 'fd01::2/64' },
    },
    to: '1.1.0',
    want: {
      cniVersion: '1.1.0',
      ips: [{ address: '10.2.0.2/24', gateway: '10.2.0.1' }, { address: 'fd01::2/64' }],
      routes: [{ dst: '10.9.0.0/16' }],
    },
  },
  {
    name: 'empty dns and lists are omitted',
    from: { cniVersion: '1.0.0', interfaces: [], ips: [], routes: [], dns: {} },
    to: '1.0.0',
    want: { cniVersion: '1.0.0' },
  },
]

for (const c of table) {
  t.test(c.name, async tt => {
    tt.same(convertResult(c.from, c.to), c.want)
  })
}

t.test('bad inputs are NDRA_CNI_RESULT', async tt => {
  const bad = [
    { cniVersion: '9.9.9' },
    { cniVersion: '1.0.0', ips: [{ address: 'nope' }] },
    { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/33' }] },
    { cniVersion: '1.0.0', ips: [{}] },
    { cniVersion: '1.0.0', ips: {} },
    { cniVersion: '1.0.0', interfaces: [5] },
    { cniVersion: '1.0.0', interfaces: [{ name: 1 }] },
    { cniVersion: '1.0.0', routes: [{ gw: '1.1.1.1' }] },
    { cniVersion: '1.0.0', routes: [{ dst: '0.0.0.0/0', mtu: 'x' }] },
    { cniVersion: '1.0.0', dns: [] },
    { cniVersion: '1.0.0', dns: { nameservers: [1] } },
    { cniVersion: '0.2.0', ip4: 'x' },
    { cniVersion: '0.2.0', ip4: {} },
    {},
  ]
  for (const b of bad)
    tt.throws(() => normalizeResult(b), { code: 'NDRA_CNI_RESULT' }, JSON.stringify(b))
  tt.throws(() => convertResult(r110, '7.0.0'), { code: 'NDRA_CNI_RESULT' })
  tt.throws(() => convertResult({}, '1.0.0'), { code: 'NDRA_CNI_RESULT' })
  tt.throws(() => parseResult('{', '1.0.0'), { code: 'NDRA_CNI_RESULT' })
  tt.throws(() => parseResult('[1]', '1.0.0'), { code: 'NDRA_CNI_RESULT' })
})

t.test('parseResult fixes up a missing cniVersion and drops unknown keys', async tt => {
  tt.same(parseResult('{"ips":[{"address":"10.0.0.3/8"}],"extra":1}', '1.0.0'), {
    cniVersion: '1.0.0',
    ips: [{ address: '10.0.0.3/8' }],
  })
  tt.same(parseResult(Buffer.from('null'), '0.4.0'), { cniVersion: '0.4.0' })
  tt.same(parseResult('{"cniVersion":""}', '1.1.0'), { cniVersion: '1.1.0' })
})

t.test('networkDataFromResult', async tt => {
  tt.same(networkDataFromResult(r110, 'net1'), {
    interfaceName: 'net1',
    ips: ['10.0.0.2/24', 'fd00::2/64'],
    hardwareAddress: '02:00:00:00:00:01',
  })
  tt.same(networkDataFromResult(r110, 'eth9'), { interfaceName: 'eth9', ips: [] }, 'unknown ifname')
  tt.same(
    networkDataFromResult({ cniVersion: '1.0.0', ips: [{ address: '10.3.0.2/24' }] }, 'net1'),
    { interfaceName: 'net1', ips: ['10.3.0.2/24'] },
    'IPAM-only result: all IPs',
  )
  tt.same(
    networkDataFromResult(
      {
        cniVersion: '0.4.0',
        interfaces: [{ name: 'net1', mac: 'aa:bb:cc:dd:ee:ff' }],
        ips: [{ version: '4', interface: 0, address: '10.4.0.2/24' }],
      },
      'net1',
    ),
    { interfaceName: 'net1', ips: ['10.4.0.2/24'], hardwareAddress: 'aa:bb:cc:dd:ee:ff' },
    'host-side name match without sandbox',
  )
  tt.same(networkDataFromResult({ cniVersion: '0.2.0', ip4: { ip: '10.5.0.2/24' } }, 'net1').ips, [
    '10.5.0.2/24',
  ])
})
