// Scenario "hook-round-trip": the shipped hook executable (dist/hook/network-dra-hook) against a
// minimal C client replaying the SAME request bytes over the same Unix socket to the same real
// HookServer (node:http, contract v1, trivial handler, in this process). The C client is the
// native floor of one round trip; the ratio is the hook's start-up + runtime overhead. Targets
// (issue 11, tighter than ARCHITECTURE.md "Fast hook"'s 8×): wall ≤ 2.5× the C client, peak
// RSS ≤ 40 MiB. A third candidate, `bun-empty` (a program that only exits, built with the
// shipped bun flags), splits the hook's time into bun's own start-up and what our code and the
// call add on top.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { interleaved, table } from './measure.mjs'
import {
  HOOK_BIN,
  ROOT,
  SAMPLE_STATE,
  buildCClient,
  captureHookWire,
  hookArgs,
  startBenchServer,
  writeTemp,
} from './hook-fixtures.mjs'

export const name = 'hook-round-trip'

export const TARGET_WALL_RATIO = 2.5
export const TARGET_RSS_MIB = 40

/** Build an empty program with the shipped hook's bun flags; returns its path. */
function buildBunEmpty(dir) {
  const entry = join(dir, 'empty.ts')
  const out = join(dir, 'bun-empty')
  writeFileSync(entry, 'process.exit(0)\n')
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'bun'),
    ['build', '--compile', '--minify', '--bytecode', entry, '--outfile', out],
    { stdio: 'ignore' },
  )
  return out
}

/** @param {{runs:number}} opts */
export async function run({ runs }) {
  if (!existsSync(HOOK_BIN)) throw new Error(`${HOOK_BIN} missing; run npm run build`)
  const work = mkdtempSync(join(tmpdir(), 'ndra-bench-hook-'))
  const server = await startBenchServer()
  try {
    const wire = await captureHookWire(HOOK_BIN, server.socketPath)
    const reqFile = writeTemp(work, 'request.bin', wire)
    const cClient = buildCClient(work)
    const bunEmpty = buildBunEmpty(work)
    const before = server.stats.calls
    const results = await interleaved(
      [
        { name: 'c-client', cmd: cClient, args: [server.socketPath, reqFile] },
        {
          name: 'network-dra-hook',
          cmd: HOOK_BIN,
          args: hookArgs(server.socketPath),
          stdin: SAMPLE_STATE,
        },
        { name: 'bun-empty', cmd: bunEmpty, args: [], stdin: SAMPLE_STATE },
      ],
      runs,
    )
    const c = results.find(r => r.name === 'c-client')
    const hook = results.find(r => r.name === 'network-dra-hook')
    const empty = results.find(r => r.name === 'bun-empty')
    const wallRatio = Math.round((hook.wallMsMedian / c.wallMsMedian) * 10) / 10
    const r1 = x => Math.round(x * 10) / 10
    const summary = {
      scenario: name,
      runs,
      requestBytes: wire.length,
      serverCalls: server.stats.calls - before,
      results,
      wallRatio,
      hookPeakRssMiB: hook.rssMiBMedian,
      // Where the hook's wall time goes (medians): bun's start-up/exit floor, and the rest (our
      // code, stdin, the call, the server's answer) on top of it.
      split: {
        bunStartupMs: empty.wallMsMedian,
        aboveBunStartupMs: r1(hook.wallMsMedian - empty.wallMsMedian),
        bunStartupRssMiB: empty.rssMiBMedian,
      },
      targets: { wallRatio: TARGET_WALL_RATIO, peakRssMiB: TARGET_RSS_MIB },
      withinTargets: wallRatio <= TARGET_WALL_RATIO && hook.rssMiBMedian <= TARGET_RSS_MIB,
    }
    return { text: table(results, 'c-client'), summary }
  } finally {
    await server.stop()
    rmSync(work, { recursive: true, force: true })
  }
}
