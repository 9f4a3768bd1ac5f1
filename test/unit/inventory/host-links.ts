// Invariant: only links matching the admin's name filter are offered, never lo or a pod's veth
// (peer in another netns); attributes come from `ip -j -d addr` and sysfs, absent facts are
// omitted, the list is sorted; a failing `ip` is a typed error.
import t from 'tap'
import { HostLinkInventory } from '../../../src/inventory/host-links.js'
import { FakeRunner, FakeSysfs } from '../../fakes/kube-host-links.js'

const ipOut = JSON.stringify([
  {
    ifname: 'lo',
    link_type: 'loopback',
    operstate: 'UNKNOWN',
    address: '00:00:00:00:00:00',
    mtu: 65536,
  },
  {
    ifname: 'eth1',
    link_type: 'ether',
    address: '02:aa:bb:cc:dd:01',
    mtu: 1500,
    operstate: 'UP',
    addr_info: [
      { family: 'inet', local: '192.0.2.5', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
      { family: 'inet6', local: 'fd00::5', prefixlen: 64, scope: 'global' },
    ],
  },
  { ifname: 'eth0', link_type: 'ether', address: '02:aa:bb:cc:dd:00', mtu: 1500, operstate: 'UP' },
  {
    ifname: 'vethpod',
    link_type: 'ether',
    operstate: 'UP',
    linkinfo: { info_kind: 'veth' },
    link_netnsid: 0,
  },
  {
    ifname: 'veth-t1',
    link_type: 'ether',
    address: '02:aa:bb:cc:dd:02',
    operstate: 'DOWN',
    linkinfo: { info_kind: 'veth' },
  },
])

const sysfs = new FakeSysfs(
  {
    '/sys/class/net/eth1/device': '../../../0000:3b:00.0',
    '/sys/class/net/eth1/device/driver': '../../../../bus/pci/drivers/ixgbe',
    '/sys/class/net/eth0/device': '../../../virtio2',
    '/sys/class/net/eth0/device/driver': '../../../bus/virtio/drivers/virtio_net',
  },
  { '/sys/class/net/eth1/device/numa_node': '1\n', '/sys/class/net/eth0/device/numa_node': '-1\n' },
)

t.test('filter, exclusions, attributes, order', async t => {
  const runner = new FakeRunner(ipOut)
  const inv = new HostLinkInventory({ runner, sysfs, nameFilter: /^(eth|veth|lo)/g })
  const links = await inv.list()
  t.same(runner.calls, ['ip -j -d addr show'])
  t.same(links, [
    {
      name: 'eth0',
      mac: '02:aa:bb:cc:dd:00',
      mtu: 1500,
      driver: 'virtio_net',
      state: 'up',
      addresses: [],
    },
    {
      name: 'eth1',
      mac: '02:aa:bb:cc:dd:01',
      mtu: 1500,
      driver: 'ixgbe',
      pciAddress: '0000:3b:00.0',
      numaNode: 1,
      state: 'up',
      addresses: ['192.0.2.5/24', 'fd00::5/64'],
    },
    { name: 'veth-t1', mac: '02:aa:bb:cc:dd:02', state: 'down', addresses: [] },
  ])
  t.same((await inv.list()).length, 3, 'a global regex is not stateful across calls')
})

t.test('no filter offers nothing and runs nothing', async t => {
  const runner = new FakeRunner(ipOut)
  t.same(await new HostLinkInventory({ runner, sysfs }).list(), [])
  t.same(runner.calls, [])
})

t.test('narrow filter', async t => {
  const inv = new HostLinkInventory({ runner: new FakeRunner(ipOut), sysfs, nameFilter: /^veth-t/ })
  t.same(
    (await inv.list()).map(l => l.name),
    ['veth-t1'],
  )
})

t.test('ip failure and bad output are typed errors', async t => {
  const failing = new HostLinkInventory({
    runner: new FakeRunner(new Error('exit 1')),
    sysfs,
    nameFilter: /./,
  })
  await t.rejects(failing.list(), {
    code: 'NDRA_INTERNAL',
    message: /listing host links failed: exit 1/,
  })
  const garbage = new HostLinkInventory({
    runner: new FakeRunner('not json'),
    sysfs,
    nameFilter: /./,
  })
  await t.rejects(garbage.list(), { code: 'NDRA_INTERNAL', message: /not JSON/ })
})

// mayOffer is the name half of what list() offers (list decides the rest): a link event for a name
// it refuses cannot change the inventory. A sticky/global filter stays stateless.
t.test('mayOffer: the name filter alone', async t => {
  const inv = new HostLinkInventory({
    runner: new FakeRunner('[]'),
    nameFilter: [/^eth[0-9]+$/g, /^bond/],
  })
  for (let i = 0; i < 3; i++) t.equal(inv.mayOffer('eth1'), true, `eth1 (call ${i})`)
  t.equal(inv.mayOffer('bond0'), true)
  t.equal(inv.mayOffer('veth1a2b'), false)
  t.equal(
    new HostLinkInventory({ runner: new FakeRunner('[]') }).mayOffer('eth1'),
    false,
    'no filter: none',
  )
})
