// Invariant: addresses parse as Go's net.ParseIP/ParseCIDR read them (no leading zeros, no zones,
// IPv4-mapped IPv6 judged as the IPv4 address), reserved ranges and the cluster CIDRs always win
// over allowed ones, and an address or network counts as allowed only when it lies wholly inside.
import t from 'tap'
import {
  judgeAddress,
  netContains,
  netsOverlap,
  parseIp,
  parseNet,
  type AddressBounds,
  type IpNet,
} from '../../../src/claims/addresses.js'

const parseCases: { text: string; want: string | undefined }[] = [
  { text: '10.1.2.3/24', want: '4 10.1.2.0/24' },
  { text: '10.1.2.3/32', want: '4 10.1.2.3/32' },
  { text: 'fd00::5/64', want: '6 fd00::/64' },
  { text: '::ffff:169.254.169.254/128', want: '4 169.254.169.254/32' },
  { text: '::ffff:10.0.0.0/104', want: '4 10.0.0.0/8' },
  { text: '::ffff:0:0/96', want: '4 0.0.0.0/0' },
  { text: '::/0', want: '6 ::/0' },
  { text: '010.1.2.3/24', want: undefined },
  { text: '10.1.2.256/24', want: undefined },
  { text: '10.1.2.3/33', want: undefined },
  { text: '10.1.2.3', want: undefined },
  { text: 'fe80::1%eth0/64', want: undefined },
  { text: '1.2.3.4::/64', want: undefined },
  { text: '1::2::3/64', want: undefined },
  { text: '1:2:3:4:5:6:7:8:9/64', want: undefined },
  { text: 'fd00::/129', want: undefined },
]

function show(text: string): string | undefined {
  const n = parseNet(text)
  if (n === undefined) return undefined
  const bits = n.family === 4 ? 32 : 128
  const v = n.base
  const addr =
    n.family === 4
      ? [24n, 16n, 8n, 0n].map(s => String((v >> s) & 255n)).join('.')
      : compact(
          Array.from({ length: 8 }, (_, i) =>
            ((v >> BigInt(bits - 16 * (i + 1))) & 0xffffn).toString(16),
          ),
        )
  return `${n.family} ${addr}/${n.prefix}`
}

function compact(groups: string[]): string {
  const s = groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')
  return s === '' ? '::' : s
}

for (const c of parseCases) {
  t.test(`parseNet ${c.text}`, async t => {
    t.equal(show(c.text), c.want)
  })
}

t.test('parseIp: bare addresses only', async t => {
  t.equal(parseIp('10.0.0.1')?.prefix, 32)
  t.equal(parseIp('::ffff:127.0.0.1')?.family, 4)
  t.equal(parseIp('10.0.0.1/32'), undefined)
  t.equal(parseIp('1.2.3'), undefined)
})

function net(text: string): IpNet {
  const n = parseNet(text)
  if (n === undefined) throw new Error(`bad test CIDR ${text}`)
  return n
}

t.test('containment and overlap', async t => {
  const a = net('10.10.0.0/16')
  const b = net('10.10.5.0/24')
  const c = net('10.0.0.0/8')
  const v6 = net('fd00::/64')
  t.ok(netContains(a, b))
  t.notOk(netContains(b, a))
  t.ok(netsOverlap(a, c))
  t.notOk(netContains(a, c))
  t.notOk(netsOverlap(a, v6))
})

const bounds: AddressBounds = {
  allowed: [net('10.10.0.0/16'), net('fd00:10::/64')],
  allowedName: 'policy.allowedCIDRs',
  cluster: [net('10.10.128.0/17')],
}

const judgeCases: {
  value: unknown
  form: 'cidr' | 'ip' | 'either'
  want: 'ok' | 'reserved-address' | 'address-range'
}[] = [
  { value: '10.10.1.0/24', form: 'cidr', want: 'ok' },
  { value: '10.10.1.7', form: 'ip', want: 'ok' },
  { value: 'fd00:10::7/128', form: 'either', want: 'ok' },
  { value: '10.10.200.0/24', form: 'cidr', want: 'reserved-address' },
  { value: '10.10.0.0/16', form: 'cidr', want: 'reserved-address' },
  { value: '169.254.169.254', form: 'ip', want: 'reserved-address' },
  { value: '::ffff:169.254.169.254', form: 'ip', want: 'reserved-address' },
  { value: '127.0.0.1/32', form: 'cidr', want: 'reserved-address' },
  { value: '224.0.0.5/32', form: 'cidr', want: 'reserved-address' },
  { value: '255.255.255.255', form: 'ip', want: 'reserved-address' },
  { value: '::', form: 'ip', want: 'reserved-address' },
  { value: 'ff02::1', form: 'ip', want: 'reserved-address' },
  { value: 'fe80::1/64', form: 'cidr', want: 'reserved-address' },
  { value: '192.168.0.1', form: 'ip', want: 'address-range' },
  { value: '10.11.0.0/24', form: 'cidr', want: 'address-range' },
  { value: '10.10.1.7', form: 'cidr', want: 'address-range' },
  { value: 42, form: 'either', want: 'address-range' },
  { value: 'fd00:11::/64', form: 'cidr', want: 'address-range' },
]

for (const c of judgeCases) {
  t.test(`judgeAddress ${JSON.stringify(c.value)} as ${c.form}`, async t => {
    const v = judgeAddress(c.value, c.form, bounds)
    t.equal(v.ok ? 'ok' : v.rule, c.want, v.ok ? '' : v.detail)
  })
}

t.test('an empty allow list says so', async t => {
  const v = judgeAddress('10.0.0.1', 'ip', { allowed: [], allowedName: 'x', cluster: [] })
  t.match(v, { ok: false, rule: 'address-range', detail: /x is empty/ })
})
