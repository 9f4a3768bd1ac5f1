// Invariant: docs/errors.md documents exactly the codes of the ErrorCode union in src/errors.ts,
// each with its meaning, where it appears and what to do.
import t from 'tap'
import { readFileSync } from 'node:fs'

const read = (rel: string): string =>
  readFileSync(new URL(`../../../${rel}`, import.meta.url), 'utf8')

/** The string literals of `export type ErrorCode = | '…' | '…'` (up to the first blank line). */
function unionCodes(src: string): string[] {
  const m = /export type ErrorCode =([\s\S]*?)\n\s*\n/.exec(src)
  if (!m?.[1]) throw new Error('no ErrorCode union in src/errors.ts')
  return [...m[1].matchAll(/'([A-Z0-9_]+)'/g)].map(c => c[1] ?? '')
}

/** Section heading code -> section body, from `### \`CODE\`` headings. */
function docSections(md: string): Map<string, string> {
  const out = new Map<string, string>()
  const parts = md.split(/^### `([A-Z0-9_]+)`\s*$/m)
  for (let i = 1; i + 1 < parts.length; i += 2) out.set(parts[i] ?? '', parts[i + 1] ?? '')
  return out
}

const codes = unionCodes(read('src/errors.ts'))
const sections = docSections(read('docs/errors.md'))

t.ok(codes.length >= 20, `parsed ${codes.length} codes from the union`)
t.equal(new Set(codes).size, codes.length, 'no duplicate codes in the union')

for (const code of codes) {
  t.test(code, async t => {
    const body = sections.get(code)
    t.ok(body !== undefined, `docs/errors.md has a "### \`${code}\`" section`)
    for (const label of ['Meaning:', 'Where:', 'What to do']) {
      t.match(body ?? '', label, `${code} section says "${label}"`)
    }
  })
}

t.test('no documented code is missing from the union', async t => {
  t.same(
    [...sections.keys()].filter(c => !codes.includes(c)),
    [],
  )
})
