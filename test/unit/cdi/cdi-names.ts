// Invariant: our CDI name checks accept exactly what the CDI parser accepts for vendor, class and
// device names, and qualified ids split on the first '=' then the first '/'.
import t from 'tap'
import {
  assertCdiName,
  cdiNameProblem,
  parseQualifiedCdiName,
  type CdiNamePart,
} from '../../../src/cdi/cdi-names.js'

const cases: readonly { part: CdiNamePart; value: string; ok: boolean }[] = [
  { part: 'vendor', value: 'network-dra.dev', ok: true },
  { part: 'vendor', value: 'a', ok: true },
  { part: 'vendor', value: 'nvidia.com', ok: true },
  { part: 'vendor', value: 'a_b-c.d9', ok: true },
  { part: 'vendor', value: '', ok: false },
  { part: 'vendor', value: '1vendor', ok: false },
  { part: 'vendor', value: '-vendor', ok: false },
  { part: 'vendor', value: 'vendor-', ok: false },
  { part: 'vendor', value: 'vendor.', ok: false },
  { part: 'vendor', value: 'ven/dor', ok: false },
  { part: 'vendor', value: 'ven:dor', ok: false },
  { part: 'vendor', value: `a${'b'.repeat(252)}`, ok: true },
  { part: 'vendor', value: `a${'b'.repeat(253)}`, ok: false },
  { part: 'class', value: 'net', ok: true },
  { part: 'class', value: 'n.et', ok: true },
  { part: 'class', value: 'Net9', ok: true },
  { part: 'class', value: '9net', ok: false },
  { part: 'class', value: 'net_', ok: false },
  { part: 'class', value: `a${'b'.repeat(62)}`, ok: true },
  { part: 'class', value: `a${'b'.repeat(63)}`, ok: false },
  { part: 'device', value: 'attachment-0', ok: true },
  { part: 'device', value: '0', ok: true },
  { part: 'device', value: '4f7e2d1c-9a8b-attachment-1', ok: true },
  { part: 'device', value: 'a:b.c_d-e', ok: true },
  { part: 'device', value: '', ok: false },
  { part: 'device', value: '-a', ok: false },
  { part: 'device', value: 'a:', ok: false },
  { part: 'device', value: 'a/b', ok: false },
  { part: 'device', value: 'a=b', ok: false },
  { part: 'device', value: 'a b', ok: false },
  { part: 'device', value: '..', ok: false },
]

for (const c of cases) {
  t.test(`${c.part} "${c.value.slice(0, 20)}"${c.value.length > 20 ? '…' : ''}`, async t => {
    t.equal(cdiNameProblem(c.part, c.value) === undefined, c.ok)
    if (c.ok)
      t.doesNotThrow(() => {
        assertCdiName(c.part, c.value)
      })
    else
      t.throws(
        () => {
          assertCdiName(c.part, c.value)
        },
        { code: 'NDRA_CDI_INVALID' },
      )
  })
}

t.test('qualified names', async t => {
  t.strictSame(parseQualifiedCdiName('network-dra.dev/net=u1-attachment-0'), {
    vendor: 'network-dra.dev',
    class: 'net',
    name: 'u1-attachment-0',
  })
  t.strictSame(parseQualifiedCdiName('a/b=c'), { vendor: 'a', class: 'b', name: 'c' })
  for (const bad of ['a/b', 'a=b', 'a/b=', '/b=c', 'a/=c', 'a/b=c=d', 'a/b/c=d', '1a/b=c']) {
    t.throws(() => parseQualifiedCdiName(bad), { code: 'NDRA_CDI_INVALID' }, bad)
  }
})
