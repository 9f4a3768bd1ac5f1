// Invariant: the reader looks into a namespace only while the path still is the namespace the
// attachment was made in (else "gone"), runs exactly `nsenter --net=<path> ip -j addr show`, maps its
// output to interface → CIDR addresses, and turns every failure into a view (never a throw): a
// namespace that vanished during the run is "gone", anything else an "error".
import t from 'tap'
import { NsenterInterfaceReader, parseIpAddr } from '../../../src/health/netns-interfaces.js'

const IP_OUT = JSON.stringify([
  { ifname: 'lo', operstate: 'UNKNOWN', addr_info: [{ local: '127.0.0.1', prefixlen: 8 }] },
  {
    ifname: 'net1',
    operstate: 'LOWERLAYERDOWN',
    addr_info: [
      { local: '10.9.0.5', prefixlen: 24 },
      { local: 'fe80::1', prefixlen: 64 },
      { family: 'inet' },
    ],
  },
  { ifname: 'eth0' },
  { noname: true },
])

t.test('parseIpAddr', async t => {
  const cases = [
    {
      name: 'interfaces and addresses',
      out: IP_OUT,
      want: {
        kind: 'seen',
        interfaces: [
          ['lo', { state: 'unknown', addresses: ['127.0.0.1/8'] }],
          ['net1', { state: 'lowerlayerdown', addresses: ['10.9.0.5/24', 'fe80::1/64'] }],
          ['eth0', { state: 'unknown', addresses: [] }],
        ],
      },
    },
    { name: 'not JSON', out: 'oops', want: { kind: 'error' } },
    { name: 'not a list', out: '{}', want: { kind: 'error' } },
  ]
  for (const c of cases) {
    const v = parseIpAddr(c.out)
    t.equal(v.kind, c.want.kind, c.name)
    if (v.kind === 'seen') t.same([...v.interfaces], c.want.interfaces, c.name)
  }
})

t.test('reader', async t => {
  const cases: {
    name: string
    ids: (string | undefined)[]
    expected: string | undefined
    run: () => Promise<string>
    want: string
    runs: number
  }[] = [
    {
      name: 'same namespace: looked into',
      ids: ['4:1'],
      expected: '4:1',
      run: () => Promise.resolve(IP_OUT),
      want: 'seen',
      runs: 1,
    },
    {
      name: 'no recorded identity: looked into',
      ids: ['4:1'],
      expected: undefined,
      run: () => Promise.resolve(IP_OUT),
      want: 'seen',
      runs: 1,
    },
    {
      name: 'path gone',
      ids: [undefined],
      expected: '4:1',
      run: () => Promise.resolve(IP_OUT),
      want: 'gone',
      runs: 0,
    },
    {
      name: 'path reused by another namespace',
      ids: ['4:2'],
      expected: '4:1',
      run: () => Promise.resolve(IP_OUT),
      want: 'gone',
      runs: 0,
    },
    {
      name: 'nsenter failed, namespace still there',
      ids: ['4:1', '4:1'],
      expected: '4:1',
      run: () => Promise.reject(new Error('nsenter: reassociate failed')),
      want: 'error',
      runs: 1,
    },
    {
      name: 'nsenter failed because the namespace vanished',
      ids: ['4:1', undefined],
      expected: '4:1',
      run: () => Promise.reject(new Error('nsenter: cannot open')),
      want: 'gone',
      runs: 1,
    },
  ]
  for (const c of cases) {
    const calls: string[][] = []
    const ids = [...c.ids]
    const r = new NsenterInterfaceReader({
      runner: {
        run: (file, args) => {
          calls.push([file, ...args])
          return c.run()
        },
      },
      probe: { identify: () => Promise.resolve(ids.shift()) },
      nsenterPath: '/usr/bin/nsenter',
    })
    const v = await r.read('/run/netns/cni-1', c.expected)
    t.equal(v.kind, c.want, c.name)
    t.equal(calls.length, c.runs, `${c.name}: runs`)
    if (calls.length > 0) {
      t.same(calls[0], ['/usr/bin/nsenter', '--net=/run/netns/cni-1', 'ip', '-j', 'addr', 'show'])
    }
    if (v.kind === 'error') t.match(v.message, /nsenter/, `${c.name}: message`)
  }
})
