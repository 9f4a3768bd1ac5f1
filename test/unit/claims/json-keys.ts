// Invariant: keys fold exactly as Go's encoding/json matches them to struct fields (checked against
// Go 1.26: ſ→s, Kelvin→k, µ/Μ/μ, Ohm/ω, ẞ/ß, ǅ/Ǆ/ǆ fold together; ß≠SS, İ/ı≠i), the walk reports
// forbidden keys, non-canonical spellings and fold-duplicates at any depth, and the limits walk
// stops any input — however deep — with a message naming the limit.
import t from 'tap'
import {
  POLICY_KEYS,
  goFoldKey,
  keyPath,
  keyProblems,
  limitProblem,
  showKey,
} from '../../../src/claims/json-keys.js'
import { GO_FOLD_RUNS } from '../../../src/claims/go-fold-table.js'
import { DEFAULT_FORBIDDEN_KEYS, DEFAULT_LIMITS } from '../../../src/claims/policy.js'

// Pairs decoded by Go 1.26 into a struct whose tag is the second key (same = the field was set).
const goPairs: { json: string; tag: string; same: boolean }[] = [
  { json: '\u017Fubnet', tag: 'subnet', same: true },
  { json: 'SUBNET', tag: 'subnet', same: true },
  { json: '\u212Aind', tag: 'kind', same: true },
  { json: 'KIND', tag: 'kind', same: true },
  { json: '\u039C', tag: '\u00B5', same: true },
  { json: '\u03BC', tag: '\u00B5', same: true },
  { json: '\u2126', tag: '\u03C9', same: true },
  { json: '\u03A9', tag: '\u03C9', same: true },
  { json: '\u1E9E', tag: '\u00DF', same: true },
  { json: 'SS', tag: '\u00DF', same: false },
  { json: '\u01C5', tag: '\u01C6', same: true },
  { json: '\u01C4', tag: '\u01C6', same: true },
  { json: '\u0130nd', tag: 'ind', same: false },
  { json: '\u0131nd', tag: 'ind', same: false },
]

for (const p of goPairs) {
  t.test(`goFoldKey: ${showKey(p.json)} ${p.same ? '=' : '≠'} ${showKey(p.tag)}`, async t => {
    t.equal(goFoldKey(p.json) === goFoldKey(p.tag), p.same)
  })
}

t.test('every generated fold maps a rune to a case-insensitive equal of it', async t => {
  // JavaScript's /iu matching uses Unicode simple case folding too: every pair of the Go table
  // must be equal under it (the table is data, so check every entry).
  let n = 0
  for (const run of GO_FOLD_RUNS.split(' ')) {
    const [s, e, stride, delta] = run.split(':')
    for (let r = parseInt(s ?? '', 16); r <= parseInt(e ?? '', 16); r += Number(stride)) {
      const a = String.fromCodePoint(r)
      const b = String.fromCodePoint(r + Number(delta))
      if (!new RegExp(`^${b.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}$`, 'iu').test(a)) {
        t.fail(`U+${r.toString(16)} → U+${(r + Number(delta)).toString(16)}`)
      }
      n++
    }
  }
  t.ok(n > 1000, `${n} folding runes`)
})

t.test('ASCII folds to upper case; other characters stay', async t => {
  t.equal(goFoldKey('ipMasq_1.x/Y'), 'IPMASQ_1.X/Y')
  t.equal(goFoldKey('re\u017FolvConf'), 'RESOLVCONF')
  t.equal(goFoldKey('\u{1F600}'), '\u{1F600}')
  t.equal(goFoldKey('a\uD800'), goFoldKey('a\uDC00'), 'lone surrogates decode as U+FFFD in Go')
})

t.test('showKey and keyPath make odd keys visible', async t => {
  t.equal(showKey('ma\u017Fter'), '"ma\\u017Fter"')
  t.equal(showKey('a"b'), '"a\\u0022b"')
  t.equal(showKey('\u{1F600}'), '"\\u{1F600}"')
  t.equal(keyPath('p', 'ipam'), 'p.ipam')
  t.equal(keyPath('p', 'cni.dev/x'), 'p["cni.dev/x"]')
})

const keyCases: { name: string; value: unknown; want: string[] }[] = [
  { name: 'canonical keys pass', value: { type: 'macvlan', ipam: { type: 'static' } }, want: [] },
  {
    name: 'non-canonical spelling of a policy key',
    value: { IPAM: { Type: 'x' } },
    want: ['key-spelling p.IPAM', 'key-spelling p.IPAM.Type'],
  },
  {
    name: 'fold-duplicates in one object',
    value: { master: 'a', ['ma\u017Fter']: 'b' },
    want: ['duplicate-key p["ma\\u017Fter"]', 'key-spelling p["ma\\u017Fter"]'],
  },
  {
    name: 'forbidden keys at any depth, folded, and by prefix',
    value: { a: [[{ ['re\u017FolvConf']: 1 }]], DATADIR: 1, 'CNI.DEV/x': 1 },
    want: [
      'forbidden-key p.DATADIR',
      'forbidden-key p["CNI.DEV/x"]',
      'forbidden-key p.a[0][0]["re\\u017FolvConf"]',
    ],
  },
  { name: 'unknown keys in any spelling are not policy keys', value: { FooBar: 1 }, want: [] },
  { name: 'scalars have no keys', value: 'x', want: [] },
]

for (const c of keyCases) {
  t.test(`keyProblems: ${c.name}`, async t => {
    const got = keyProblems(c.value, 'p', DEFAULT_FORBIDDEN_KEYS).map(p => `${p.rule} ${p.path}`)
    t.same(got.sort(), [...c.want].sort())
  })
}

t.test('every policy key is its own canonical spelling', async t => {
  t.equal(new Set(POLICY_KEYS.map(goFoldKey)).size, POLICY_KEYS.length, 'no two fold alike')
  t.same(keyProblems(Object.fromEntries(POLICY_KEYS.map(k => [k, 1])), 'p', []), [])
})

function nest(depth: number): unknown {
  let v: unknown = 0
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

const limitCases: { name: string; value: unknown; want: RegExp | undefined }[] = [
  { name: 'small object', value: { a: [1, 2, { b: 'c' }] }, want: undefined },
  { name: 'exactly maxDepth', value: nest(16), want: undefined },
  { name: 'one over maxDepth', value: nest(17), want: /maxDepth 16 levels/ },
  { name: '100,000 nested arrays', value: nest(100000), want: /maxDepth 16 levels/ },
  { name: 'too many nodes', value: new Array(2000).fill(0), want: /maxNodes 2000/ },
  { name: 'too many bytes', value: { s: 'x'.repeat(16380) }, want: /maxBytes 16384/ },
  { name: 'multi-byte characters count as bytes', value: ['é'.repeat(8200)], want: /maxBytes/ },
]

for (const c of limitCases) {
  t.test(`limitProblem: ${c.name}`, async t => {
    const p = limitProblem(c.value, 'params', DEFAULT_LIMITS)
    if (c.want === undefined) t.equal(p, undefined)
    else {
      t.equal(p?.rule, 'limits')
      t.match(p?.detail, c.want)
    }
  })
}

t.test('limitProblem counts bytes like JSON.stringify', async t => {
  const v = { a: [1, 'two', null, true, { b: 'é' }], c: {} }
  const exact = Buffer.byteLength(JSON.stringify(v))
  t.equal(limitProblem(v, 'p', { ...DEFAULT_LIMITS, maxBytes: exact }), undefined)
  t.equal(limitProblem(v, 'p', { ...DEFAULT_LIMITS, maxBytes: exact - 1 })?.rule, 'limits')
})
