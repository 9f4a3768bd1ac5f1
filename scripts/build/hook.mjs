// Builds the hook executable: hook/main.ts bundled and compiled by bun (pinned in package.json,
// run from node_modules) into dist/hook/network-dra-hook, one self-contained file with no
// runtime dependency on the node. Chosen by measurement over Node's single-executable
// applications (numbers and method: hook/README.md, scripts/bench/compare-hook-builders.mjs).
// The output is reproducible: the same sources, bun version and flags give the same bytes; the
// sha256 is printed and written next to the binary.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const bun = join(root, 'node_modules', '.bin', 'bun')
const entry = join(root, 'hook', 'main.ts')
const outDir = join(root, 'dist', 'hook')
const out = join(outDir, 'network-dra-hook')

const wanted = pkg.devDependencies?.bun
const have = execFileSync(bun, ['--version'], { encoding: 'utf8' }).trim()
if (have !== wanted) {
  console.error(`build-hook: bun ${have} in node_modules, package.json pins ${wanted}; run npm ci`)
  process.exit(1)
}

/**
 * --bytecode: ≈ 2× faster start than plain --compile (measured); --minify is needed by it.
 * No runtime autoloading of .env / bunfig.toml / tsconfig / package.json: runc starts the hook
 * in its own working directory, and nothing there may change how the hook behaves.
 */
const BUILD_FLAGS = [
  'build',
  '--compile',
  '--minify',
  '--bytecode',
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
  '--no-compile-autoload-tsconfig',
  '--no-compile-autoload-package-json',
  '--define',
  `NETWORK_DRA_HOOK_VERSION=${JSON.stringify(pkg.version)}`,
]

mkdirSync(outDir, { recursive: true })
execFileSync(bun, [...BUILD_FLAGS, entry, '--outfile', out], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
})
const sha = createHash('sha256').update(readFileSync(out)).digest('hex')
writeFileSync(`${out}.sha256`, `${sha}  network-dra-hook\n`)
writeFileSync(
  join(outDir, 'build-info.json'),
  `${JSON.stringify({ builder: `bun ${have}`, flags: BUILD_FLAGS, version: pkg.version, sha256: sha }, null, 2)}\n`,
)
console.log(`build-hook: ${out} (bun ${have}) sha256 ${sha}`)
