// Invariant: flags win over env, env over defaults; every problem is reported at once; the result is frozen.
import t from 'tap'
import { InvalidConfigError } from '../../src/errors.js'
import { OPTIONS, buildCommand, loadConfig } from '../../src/config.js'

t.test('defaults with only the node name', async t => {
  const c = loadConfig([], { NODE_NAME: 'node-1' })
  t.equal(c.driverName, 'network-dra.dev')
  t.equal(c.nodeName, 'node-1')
  t.same(c.cniBinDirs, ['/opt/cni/bin', '/usr/lib/cni'])
  t.equal(c.hookTimeoutSeconds, 60)
  t.equal(c.attachmentSlots, 128)
  t.equal(c.cniHostRoot, '/')
  t.equal(c.httpAddress, ':9465')
  t.equal(c.hostLinkDownTaint, 'NoSchedule')
  t.equal(loadConfig([], { NODE_NAME: 'n', HOST_LINK_DOWN_TAINT: 'off' }).hostLinkDownTaint, 'off')
  t.same(c.sharedHostLinks, [], 'no shared host links by default')
  const shared = loadConfig([], {
    NODE_NAME: 'n',
    SHARED_HOST_LINKS: '[{"pattern":"^ndra-shared0$","capacity":3}]',
  }).sharedHostLinks
  t.same(
    shared.map(r => [r.pattern.source, r.capacity]),
    [['^ndra-shared0$', 3]],
  )
  t.ok(Object.isFrozen(c))
})

const precedence = [
  { name: 'env only', argv: [], env: { NODE_NAME: 'a', ATTACHMENT_SLOTS: '8' }, want: 8 },
  {
    name: 'flag over env',
    argv: ['--attachment-slots', '16'],
    env: { NODE_NAME: 'a', ATTACHMENT_SLOTS: '8' },
    want: 16,
  },
  { name: 'default', argv: [], env: { NODE_NAME: 'a' }, want: 128 },
]
for (const c of precedence) {
  t.test(`precedence: ${c.name}`, async t => {
    t.equal(loadConfig(c.argv, c.env).attachmentSlots, c.want)
  })
}

const bad = [
  { name: 'missing node name', argv: [], env: {}, want: ['--node-name (NODE_NAME) is required'] },
  {
    name: 'several problems at once',
    argv: [
      '--node-name',
      'n',
      '--attachment-slots',
      '0',
      '--cdi-root',
      'rel',
      '--log-level',
      'loud',
      '--cni-host-root',
      'host',
    ],
    env: {},
    want: [
      '--cdi-root: "rel" must be an absolute path',
      '--attachment-slots: "0" must be a whole number from 1 to 4096',
      '--cni-host-root: "host" must be an absolute path',
      '--log-level: "loud" must be one of trace, debug, info, warn, error',
    ],
  },
  {
    name: 'bad driver name and regex',
    argv: ['--node-name', 'n', '--driver-name', 'NoDots', '--host-interfaces', '(['],
    env: {},
    want: [
      '--driver-name: "NoDots" must be a lower-case DNS subdomain with a dot, at most 63 characters (e.g. network-dra.dev)',
      '--host-interfaces: "([" is not a valid regular expression',
    ],
  },
  {
    name: 'unknown taint effect',
    argv: ['--node-name', 'n', '--host-link-down-taint', 'PreferNoSchedule'],
    env: {},
    want: ['--host-link-down-taint: "PreferNoSchedule" must be NoSchedule, NoExecute or off'],
  },
  {
    name: 'bad shared host links',
    argv: ['--node-name', 'n', '--shared-host-links', '[{"pattern":"(","capacity":0}]'],
    env: {},
    want: [
      '--shared-host-links: [0].pattern: "(" is not a valid regular expression',
      '--shared-host-links: [0].capacity: must be a whole number from 1 to 4096 (children per link)',
    ],
  },
  {
    name: 'plugin timeout not shorter than hook timeout',
    argv: ['--node-name', 'n', '--hook-timeout', '10', '--cni-plugin-timeout', '10'],
    env: {},
    want: ['--cni-plugin-timeout (10s) must be shorter than --hook-timeout (10s)'],
  },
  {
    name: 'relative bin dir and bad http address',
    argv: ['--node-name', 'n', '--cni-bin-dirs', '/ok:bin', '--http-address', 'nope'],
    env: {},
    want: [
      '--cni-bin-dirs: "bin" must be an absolute path',
      '--http-address: "nope" must be host:port or :port, or empty to disable',
    ],
  },
]
for (const c of bad) {
  t.test(`invalid: ${c.name}`, async t => {
    try {
      loadConfig(c.argv, c.env)
      t.fail('expected InvalidConfigError')
    } catch (err) {
      t.ok(err instanceof InvalidConfigError)
      const problems = (err as InvalidConfigError).problems
      for (const w of c.want)
        t.ok(problems.includes(w), `reports: ${w}\n got: ${problems.join(' | ')}`)
      t.equal(problems.length, c.want.length)
    }
  })
}

t.test('every option has an env twin in --help', async t => {
  const help = buildCommand({}).helpInformation().replace(/\s+/g, ' ')
  for (const o of OPTIONS) {
    t.match(help, `--${o.flag}`)
    t.match(help, `env ${o.env}`)
  }
})

t.test('positional arguments are rejected', async t => {
  t.throws(() => loadConfig(['extra'], { NODE_NAME: 'n' }))
})

const metadata: readonly { name: string; value: string | undefined; want: string[] | 'invalid' }[] =
  [
    {
      name: 'default: both upstream versions, newest first',
      value: undefined,
      want: ['v1beta1', 'v1alpha1'],
    },
    { name: 'off', value: 'off', want: [] },
    { name: 'one version', value: 'v1alpha1', want: ['v1alpha1'] },
    { name: 'spaces tolerated', value: ' v1beta1 , v1alpha1 ', want: ['v1beta1', 'v1alpha1'] },
    { name: 'unknown version', value: 'v2', want: 'invalid' },
    { name: 'duplicate', value: 'v1beta1,v1beta1', want: 'invalid' },
    { name: 'empty', value: '', want: 'invalid' },
  ]
for (const c of metadata) {
  t.test(`device metadata: ${c.name}`, async t => {
    const env = { NODE_NAME: 'n', ...(c.value !== undefined ? { DEVICE_METADATA: c.value } : {}) }
    if (c.want === 'invalid') {
      t.throws(() => loadConfig([], env), InvalidConfigError)
    } else t.same(loadConfig([], env).deviceMetadataVersions, c.want)
  })
}
