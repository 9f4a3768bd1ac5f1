// Invariant: the hook executable's sources import nothing but node: built-ins and each other, so
// no library (grpc-js, protobufjs, pino, …) can creep into its start-up path.
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const hookDir = fileURLToPath(new URL('../../../hook', import.meta.url))
const files = readdirSync(hookDir).filter(f => f.endsWith('.ts'))

t.ok(files.includes('main.ts'))
for (const f of files) {
  t.test(f, async t => {
    const src = readFileSync(join(hookDir, f), 'utf8')
    const staticImports = [...src.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)]
    const dynamicImports = [...src.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)]
    const specs = [...staticImports, ...dynamicImports].map(m => m[1] ?? '')
    for (const s of specs) {
      t.ok(s.startsWith('node:') || s.startsWith('./'), `${f} imports ${s}`)
    }
  })
}
