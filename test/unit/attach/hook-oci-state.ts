// Invariant: only a state with a non-empty id and an absolute bundle passes; every malformed
// state is a NDRA_HOOK_PROTOCOL error that says what is wrong.
import t from 'tap'
import { parseOciState } from '../../../src/attach/hook-oci-state.js'
import { DriverError } from '../../../src/errors.js'

const runcState = {
  ociVersion: '1.2.1',
  id: 'abc',
  status: 'creating',
  pid: 4242,
  bundle: '/run/containerd/b/abc',
  annotations: { 'io.kubernetes.cri.sandbox-id': 's1' },
}

const ok = [
  { name: 'runc createRuntime state', input: JSON.stringify(runcState), want: runcState },
  { name: 'minimal', input: '{"id":"a","bundle":"/b"}', want: { id: 'a', bundle: '/b' } },
  {
    name: 'pid 0 is omitted',
    input: '{"id":"a","bundle":"/b","pid":0}',
    want: { id: 'a', bundle: '/b' },
  },
  {
    name: 'unknown fields ignored',
    input: '{"id":"a","bundle":"/b","future":{"x":1}}',
    want: { id: 'a', bundle: '/b' },
  },
  {
    name: 'bytes input',
    input: new TextEncoder().encode('{"id":"ä","bundle":"/b"}'),
    want: { id: 'ä', bundle: '/b' },
  },
]
for (const c of ok) {
  t.test(c.name, async t => {
    t.same(parseOciState(c.input), c.want)
  })
}

const bad = [
  { name: 'empty', input: '', msg: /empty/ },
  { name: 'not JSON', input: '{id', msg: /not JSON/ },
  { name: 'array', input: '[]', msg: /not a JSON object/ },
  { name: 'null', input: 'null', msg: /not a JSON object/ },
  { name: 'no id', input: '{"bundle":"/b"}', msg: /"id" is required/ },
  { name: 'empty id', input: '{"id":"","bundle":"/b"}', msg: /"id" is required/ },
  { name: 'numeric id', input: '{"id":1,"bundle":"/b"}', msg: /"id" must be a string/ },
  { name: 'no bundle', input: '{"id":"a"}', msg: /"bundle" is required/ },
  { name: 'relative bundle', input: '{"id":"a","bundle":"b"}', msg: /absolute/ },
  { name: 'bad pid', input: '{"id":"a","bundle":"/b","pid":-1}', msg: /"pid"/ },
  { name: 'fractional pid', input: '{"id":"a","bundle":"/b","pid":1.5}', msg: /"pid"/ },
  { name: 'string pid', input: '{"id":"a","bundle":"/b","pid":"1"}', msg: /"pid"/ },
  {
    name: 'bad status type',
    input: '{"id":"a","bundle":"/b","status":3}',
    msg: /"status" must be a string/,
  },
  {
    name: 'annotations array',
    input: '{"id":"a","bundle":"/b","annotations":[]}',
    msg: /"annotations" must be an object/,
  },
  {
    name: 'annotation value',
    input: '{"id":"a","bundle":"/b","annotations":{"k":1}}',
    msg: /annotation "k" must be a string/,
  },
  { name: 'invalid UTF-8', input: Uint8Array.from([0x7b, 0xff, 0x7d]), msg: /not UTF-8/ },
]
for (const c of bad) {
  t.test(`refuses ${c.name}`, async t => {
    t.throws(() => parseOciState(c.input), { code: 'NDRA_HOOK_PROTOCOL', message: c.msg })
    try {
      parseOciState(c.input)
    } catch (err: unknown) {
      t.ok(err instanceof DriverError)
      t.match((err as Error).message, /^invalid OCI state from hook: /)
    }
  })
}
