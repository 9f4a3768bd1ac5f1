// Measures the ways of shipping the hook as one executable against the C floor, so the choice in
// scripts/build/hook.mjs rests on numbers (results recorded in hook/README.md).
// usage: node scripts/bench/compare-hook-builders.mjs [runs]   (needs `npm run build:ts` first)
// Extra prebuilt hook executables can join the comparison: EXTRA_HOOKS=name=/path,name2=/path2
// `bun-empty` is a program that only exits, built with the shipped flags: bun's own start-up and
// exit, the floor under any bun-built hook (what is left above it is our code and the call).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { interleaved, table } from './measure.mjs'
import {
  ROOT,
  SAMPLE_STATE,
  buildCClient,
  captureHookWire,
  hookArgs,
  startBenchServer,
  writeTemp,
} from './hook-fixtures.mjs'

const runs = Number(process.argv[2] ?? 15)
const work = mkdtempSync(join(tmpdir(), 'ndra-builders-'))
const bun = join(ROOT, 'node_modules', '.bin', 'bun')
const entry = join(ROOT, 'hook', 'main.ts')

function bunCompile(name, extra, from = entry) {
  const out = join(work, name)
  execFileSync(bun, ['build', '--compile', ...extra, from, '--outfile', out], { stdio: 'ignore' })
  return out
}

const SHIPPED_FLAGS = ['--minify', '--bytecode']
const emptyEntry = join(work, 'empty.ts')
writeFileSync(emptyEntry, 'process.exit(0)\n')
const bunEmpty = bunCompile('bun-empty', SHIPPED_FLAGS, emptyEntry)

const variants = [
  { name: 'bun-compile', bin: bunCompile('bun-compile', []) },
  { name: 'bun-compile-minify', bin: bunCompile('bun-compile-minify', ['--minify']) },
  {
    name: 'bun-compile-bytecode',
    bin: bunCompile('bun-compile-bytecode', SHIPPED_FLAGS),
  },
  ...(process.env.EXTRA_HOOKS ?? '')
    .split(',')
    .filter(Boolean)
    .map(kv => ({ name: kv.slice(0, kv.indexOf('=')), bin: kv.slice(kv.indexOf('=') + 1) })),
]
// Node 24 start-up cost of the same code as one bundled file (what a SEA blob would contain).
const nodeBundle = join(work, 'hook-node.mjs')
execFileSync(bun, ['build', '--target=node', '--format=esm', entry, '--outfile', nodeBundle], {
  stdio: 'ignore',
})

const server = await startBenchServer()
try {
  const wire = await captureHookWire(variants[0].bin, server.socketPath)
  const reqFile = writeTemp(work, 'request.bin', wire)
  const cClient = buildCClient(work)
  const candidates = [
    { name: 'c-client', cmd: cClient, args: [server.socketPath, reqFile] },
    ...variants.map(v => ({
      name: v.name,
      cmd: v.bin,
      args: hookArgs(server.socketPath),
      stdin: SAMPLE_STATE,
    })),
    {
      name: 'node24-bundle',
      cmd: process.execPath,
      args: [nodeBundle, ...hookArgs(server.socketPath)],
      stdin: SAMPLE_STATE,
    },
    { name: 'bun-empty', cmd: bunEmpty, args: [], stdin: SAMPLE_STATE },
  ]
  const results = await interleaved(candidates, runs)
  console.log(table(results, 'c-client'))
  console.log(JSON.stringify({ runs, results }, null, 2))
} finally {
  await server.stop()
  rmSync(work, { recursive: true, force: true })
}
