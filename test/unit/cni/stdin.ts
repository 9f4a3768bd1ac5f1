// Invariant: plugin stdin carries the plugin object with name/cniVersion forced, prevResult only
// when given, runtimeConfig only with declared (true) and supplied capabilities and only when
// non-empty, encoded like Go (sorted keys, HTML escapes).
import t from 'tap'
import {
  buildPlainStdin,
  buildPluginStdin,
  encodeStdin,
  filterRuntimeConfig,
} from '../../../src/cni/stdin.js'
import { goJsonMarshal } from '../../../src/cni/go-json.js'

const plugin = {
  type: 'macvlan',
  raw: {
    type: 'macvlan',
    name: 'ignored',
    cniVersion: '0.1.0',
    capabilities: { mac: true, ips: false, dns: true },
  },
}

t.test('runtimeConfig filtering', async tt => {
  tt.same(filterRuntimeConfig(plugin, { mac: 'm', ips: ['x'], other: 1 }), { mac: 'm' })
  tt.same(filterRuntimeConfig({ type: 'x', raw: { type: 'x' } }, { mac: 'm' }), {})
})

t.test('injection', async tt => {
  const s = buildPluginStdin({
    networkName: 'net',
    cniVersion: '1.0.0',
    plugin,
    prevResult: { cniVersion: '1.0.0' },
    capabilityArgs: { mac: 'm', dns: { servers: [] } },
  })
  tt.same(s, {
    ...plugin.raw,
    name: 'net',
    cniVersion: '1.0.0',
    prevResult: { cniVersion: '1.0.0' },
    runtimeConfig: { mac: 'm', dns: { servers: [] } },
  })
  const bare = buildPluginStdin({
    networkName: 'net',
    cniVersion: '1.0.0',
    plugin,
    capabilityArgs: {},
  })
  tt.notOk('prevResult' in bare)
  tt.notOk('runtimeConfig' in bare)
  tt.same(buildPlainStdin('net', '1.1.0', plugin, { 'cni.dev/valid-attachments': [] }), {
    ...plugin.raw,
    'cni.dev/valid-attachments': [],
    name: 'net',
    cniVersion: '1.1.0',
  })
})

t.test('Go-style encoding', async tt => {
  tt.equal(
    Buffer.from(encodeStdin({ z: 1, a: 'x<y>&z', m: { b: [true, null], a: 1.5 } })).toString(),
    '{"a":"x\\u003cy\\u003e\\u0026z","m":{"a":1.5,"b":[true,null]},"z":1}',
  )
  tt.equal(goJsonMarshal('\u2028\u0001\n\t\r"\\é'), '"\\u2028\\u0001\\n\\t\\r\\"\\\\é"')
  tt.equal(goJsonMarshal(undefined), 'null')
  tt.equal(goJsonMarshal({ u: undefined, k: 10n }), '{"k":10}')
  tt.equal(goJsonMarshal(new Uint8Array([1, 2])), '"AQI="')
  tt.throws(() => goJsonMarshal(Number.NaN))
  tt.throws(() => goJsonMarshal(() => 1))
})
