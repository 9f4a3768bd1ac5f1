// Invariant: CNIConfig parsing is strict — unknown fields and every malformed value are reported,
// all at once and each with its field path; valid configs pass through unchanged. What the tenant
// policy judges (interface names, cniArgs, network names, cniVersion values) is left to the policy
// rules (claim-rules.ts, network-rules.ts), so one bad field does not hide the others.
import t from 'tap'
import { parseCniConfig, validateCniConfig } from '../../../src/claims/cni-config.js'
import { DriverError } from '../../../src/errors.js'

const head = { apiVersion: 'network-dra.dev/v1alpha1', kind: 'CNIConfig' }
const net = { cniVersion: '1.0.0', name: 'blue', plugins: [{ type: 'bridge', bridge: 'br0' }] }

const cases: { name: string; input: unknown; errors?: string[]; apiGroup?: string }[] = [
  { name: 'minimal', input: head },
  {
    name: 'full',
    input: {
      ...head,
      interfaceName: 'net7',
      network: { ...net, cniVersions: ['1.0.0'], disableCheck: true, disableGC: false },
      mac: '02:00:00:00:00:01',
      ips: ['10.1.0.5/24', 'fd00::5/64'],
      cniArgs: { FOO: 'bar', 'x.y-z': '' },
    },
  },
  {
    name: 'unknown top-level field',
    input: { ...head, mtu: 1400 },
    errors: ['parameters.mtu: unknown field'],
  },
  {
    name: 'unknown network field',
    input: { ...head, network: { ...net, foo: 1 } },
    errors: ['parameters.network.foo: unknown field'],
  },
  {
    name: 'missing network fields and plugin type',
    input: { ...head, network: { plugins: [{ bridge: 'x' }] } },
    errors: [
      'parameters.network: missing required field "cniVersion"',
      'parameters.network: missing required field "name"',
      'parameters.network.plugins[0]: missing required field "type"',
    ],
  },
  {
    name: 'empty plugins and empty name',
    input: { ...head, network: { ...net, name: '', plugins: [] } },
    errors: [
      'parameters.network.name: must NOT have fewer than 1 characters',
      'parameters.network.plugins: must NOT have fewer than 1 items',
    ],
  },
  {
    name: 'network names and versions are judged by the policy, not the schema',
    input: {
      ...head,
      network: { ...net, name: '-bad name', cniVersion: '99', cniVersions: ['x'] },
    },
  },
  {
    name: 'claimOverrides: booleans and CIDRs',
    input: {
      ...head,
      claimOverrides: { interfaceName: false, mac: 'no', ips: ['10.0.0.0'], x: 1 },
    },
    errors: [
      'parameters.claimOverrides.x: unknown field',
      'parameters.claimOverrides.mac: must be boolean',
    ],
  },
  {
    name: 'claimOverrides ips must be CIDRs',
    input: { ...head, claimOverrides: { ips: ['10.0.0.0'] } },
    errors: [
      'parameters.claimOverrides.ips[0]: "10.0.0.0" is not an address in CIDR form like 10.1.0.5/24',
    ],
  },
  {
    name: 'wrong apiVersion and kind',
    input: { apiVersion: 'other/v1', kind: 'Foo' },
    errors: [
      'parameters.apiVersion: must be "network-dra.dev/v1alpha1", got "other/v1"',
      'parameters.kind: must be "CNIConfig", got "Foo"',
    ],
  },
  {
    name: 'custom apiGroup',
    input: { ...head, apiVersion: 'net.example.com/v1alpha1' },
    apiGroup: 'net.example.com',
  },
  {
    name: 'semantic errors are all collected',
    input: {
      ...head,
      interfaceName: 'this-name-is-too-long',
      mac: '01:00:5e:00:00:01',
      ips: ['10.0.0.1', '10.0.0.2/24', '10.0.0.2/24', '10.0.0.3/33'],
      cniArgs: { 'a=b': 'x', K8S_POD_NAME: 'evil', ok: 'semi;colon' },
    },
    errors: [
      'parameters.mac: "01:00:5e:00:00:01" is a multicast address; use a unicast MAC',
      'parameters.ips[0]: "10.0.0.1" is not an address in CIDR form like 10.1.0.5/24',
      'parameters.ips[2]: "10.0.0.2/24" is listed twice',
      'parameters.ips[3]: "10.0.0.3/33" is not an address in CIDR form like 10.1.0.5/24',
    ],
  },
  {
    name: 'interface names and cniArgs are judged by the policy, not the schema',
    input: { ...head, interfaceName: 'eth0', cniArgs: { 'a=b': 'x', K8S_POD_NAME: 'evil' } },
  },
  {
    name: 'zero mac',
    input: { ...head, mac: '00:00:00:00:00:00' },
    errors: ['parameters.mac: the all-zero MAC is not allowed'],
  },
  {
    name: 'bad mac',
    input: { ...head, mac: 'zz' },
    errors: ['parameters.mac: "zz" is not a MAC address like 02:00:00:00:00:01'],
  },
  {
    name: 'wrong types',
    input: { ...head, ips: 'x', cniArgs: { a: 1 } },
    errors: ['parameters.ips: must be array', 'parameters.cniArgs.a: must be string'],
  },
  { name: 'not an object', input: 'x', errors: ['parameters: must be object'] },
  {
    name: 'too many ips',
    input: { ...head, ips: Array.from({ length: 17 }, (_, i) => `10.0.0.${i}/24`) },
    errors: ['parameters.ips: must NOT have more than 16 items'],
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const v = validateCniConfig(c.input, c.apiGroup ? { apiGroup: c.apiGroup } : {})
    if (c.errors === undefined) {
      t.ok(v.ok, 'valid')
      if (v.ok) t.same(v.config, c.input)
    } else {
      t.notOk(v.ok, 'invalid')
      if (!v.ok) t.same(v.errors, c.errors)
    }
  })
}

t.test('parseCniConfig throws NDRA_OPAQUE_CONFIG with every problem and a custom path', async t => {
  t.throws(() => parseCniConfig({ ...head, x: 1, y: 2 }, { path: 'spec.config[0]' }), {
    code: 'NDRA_OPAQUE_CONFIG',
    message: 'invalid CNIConfig: spec.config[0].x: unknown field; spec.config[0].y: unknown field',
  })
  t.type(
    (() => {
      try {
        return parseCniConfig({})
      } catch (e: unknown) {
        return e
      }
    })(),
    DriverError,
  )
  t.same(parseCniConfig(head), head)
})
