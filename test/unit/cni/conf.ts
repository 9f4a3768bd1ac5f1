// Invariant: parseConfList accepts exactly what libcni accepts for inline conflists (name regex,
// plain `type`, bool-or-string flags, non-empty plugins), selects cniVersion by libcni's
// cniVersions rule (highest ≤ 1.1.0), and keeps the original bytes.
import t from 'tap'
import { parseConfList } from '../../../src/cni/conf.js'
import { DriverError } from '../../../src/errors.js'

const base = { name: 'net', cniVersion: '1.0.0', plugins: [{ type: 'bridge' }] }

const ok = [
  { name: 'plain', input: base, version: '1.0.0', disableCheck: false, disableGC: false },
  {
    name: 'cniVersions picks highest supported',
    input: { ...base, cniVersions: ['0.4.0', '1.1.0', '1.0.0'] },
    version: '1.1.0',
  },
  {
    name: 'cniVersions drops newer than 1.1.0',
    input: { ...base, cniVersion: '0.3.1', cniVersions: ['1.0.0', '2.0.0', '1.2.0'] },
    version: '1.0.0',
  },
  {
    name: 'cniVersion joins cniVersions when higher',
    input: { ...base, cniVersion: '1.1.0', cniVersions: ['0.4.0'] },
    version: '1.1.0',
  },
  {
    name: 'cniVersion newer than 1.1.0 ignored when cniVersions given',
    input: { ...base, cniVersion: '9.0.0', cniVersions: ['0.4.0'] },
    version: '0.4.0',
  },
  {
    name: 'numeric not string order',
    input: { ...base, cniVersion: '0.1.0', cniVersions: ['0.10.0', '0.9.0'] },
    version: '0.10.0',
  },
  {
    name: 'bool flags',
    input: { ...base, disableCheck: true, disableGC: false },
    disableCheck: true,
    disableGC: false,
  },
  {
    name: 'string flags any case',
    input: { ...base, disableCheck: 'TRUE', disableGC: 'True' },
    disableCheck: true,
    disableGC: true,
  },
  { name: 'string false', input: { ...base, disableCheck: 'false' }, disableCheck: false },
  {
    name: 'name with dots, dashes, underscores',
    input: { ...base, name: 'a1.b_c-d' },
    version: '1.0.0',
  },
] as const

for (const c of ok) {
  t.test(`accepts: ${c.name}`, async tt => {
    const list = parseConfList(c.input)
    if ('version' in c) tt.equal(list.cniVersion, c.version)
    if ('disableCheck' in c) tt.equal(list.disableCheck, c.disableCheck)
    if ('disableGC' in c) tt.equal(list.disableGC, c.disableGC)
    tt.equal(list.plugins[0]?.type, 'bridge')
  })
}

const bad: { name: string; input: unknown; msg: RegExp }[] = [
  { name: 'not JSON', input: '{', msg: /error parsing configuration list/ },
  { name: 'array', input: '[]', msg: /expected a JSON object/ },
  { name: 'no name', input: { ...base, name: undefined }, msg: /no name/ },
  { name: 'name type', input: { ...base, name: 5 }, msg: /invalid name type number/ },
  {
    name: 'name regex',
    input: { ...base, name: '-bad' },
    msg: /invalid characters found in network name/,
  },
  { name: 'name slash', input: { ...base, name: 'a/b' }, msg: /invalid characters/ },
  { name: 'empty name', input: { ...base, name: '' }, msg: /missing network name/ },
  {
    name: 'cniVersion type',
    input: { ...base, cniVersion: 1 },
    msg: /invalid cniVersion type number/,
  },
  {
    name: 'no version at all',
    input: { name: 'n', plugins: [{ type: 'x' }] },
    msg: /no cniVersion/,
  },
  { name: 'garbage cniVersion', input: { ...base, cniVersion: 'one' }, msg: /invalid cniVersion/ },
  {
    name: 'cniVersions type',
    input: { ...base, cniVersions: '1.0.0' },
    msg: /invalid type for cniVersions/,
  },
  { name: 'cniVersions entry type', input: { ...base, cniVersions: [1] }, msg: /index 0/ },
  {
    name: 'cniVersions entry invalid',
    input: { ...base, cniVersions: ['x.y'] },
    msg: /invalid cniVersions entry/,
  },
  {
    name: 'disableCheck number',
    input: { ...base, disableCheck: 1 },
    msg: /invalid type number for disableCheck/,
  },
  {
    name: 'disableGC bad string',
    input: { ...base, disableGC: 'yes' },
    msg: /invalid value "yes" for disableGC/,
  },
  { name: 'no plugins', input: { name: 'n', cniVersion: '1.0.0' }, msg: /no 'plugins' key/ },
  { name: 'plugins type', input: { ...base, plugins: {} }, msg: /invalid 'plugins' type object/ },
  { name: 'empty plugins', input: { ...base, plugins: [] }, msg: /no plugins in list/ },
  {
    name: 'plugin not object',
    input: { ...base, plugins: ['bridge'] },
    msg: /plugin 0: expected an object/,
  },
  { name: 'missing type', input: { ...base, plugins: [{}] }, msg: /missing 'type'/ },
  {
    name: 'type not string',
    input: { ...base, plugins: [{ type: 3 }] },
    msg: /invalid 'type' type/,
  },
  {
    name: 'type with slash',
    input: { ...base, plugins: [{ type: '../bin/sh' }] },
    msg: /plain binary name/,
  },
  {
    name: 'type with backslash',
    input: { ...base, plugins: [{ type: 'a\\b' }] },
    msg: /plain binary name/,
  },
  {
    name: 'capabilities not object',
    input: { ...base, plugins: [{ type: 'x', capabilities: [] }] },
    msg: /invalid 'capabilities' type array/,
  },
]

for (const c of bad) {
  t.test(`rejects: ${c.name}`, async tt => {
    const input = typeof c.input === 'string' ? c.input : JSON.stringify(c.input)
    const err = (() => {
      try {
        parseConfList(input)
      } catch (e: unknown) {
        return e
      }
      return undefined
    })()
    tt.ok(err instanceof DriverError, 'throws a DriverError')
    tt.equal((err as DriverError).code, 'NDRA_CNI_CONFIG')
    tt.match((err as Error).message, c.msg)
  })
}

t.test('keeps original bytes and the raw plugin objects', async tt => {
  const text =
    '{ "name": "n", "cniVersion": "0.4.0",\n "plugins": [ {"type":"a","x":1}, {"type":"b"} ] }'
  const fromText = parseConfList(text)
  tt.equal(Buffer.from(fromText.bytes).toString('utf8'), text)
  tt.same(fromText.plugins[0]?.raw, { type: 'a', x: 1 })
  const fromBytes = parseConfList(new TextEncoder().encode(text))
  tt.equal(Buffer.from(fromBytes.bytes).toString('utf8'), text)
  const fromObj = parseConfList({ name: 'n', cniVersion: '1.0.0', plugins: [{ type: 'a' }] })
  tt.same(JSON.parse(Buffer.from(fromObj.bytes).toString('utf8')), {
    name: 'n',
    cniVersion: '1.0.0',
    plugins: [{ type: 'a' }],
  })
  tt.ok(Object.isFrozen(fromObj) && Object.isFrozen(fromObj.plugins))
})
