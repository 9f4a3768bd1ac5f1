// Scenario "hook-round-trip": the shipped hook executable (dist/hook/network-dra-hook) against a
// minimal C client replaying the SAME request bytes over the same Unix socket to the same real
// HookServer (grpc-js, trivial handler, in this process). The C client is the native floor of
// one round trip; the ratio is the hook's start-up + runtime overhead. Targets (ARCHITECTURE.md
// "Fast hook"): wall ≤ 8× the C client, peak RSS ≤ 40 MiB.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { interleaved, table } from './measure.mjs'
import {
  HOOK_BIN,
  SAMPLE_STATE,
  buildCClient,
  captureHookWire,
  hookArgs,
  startBenchServer,
  writeTemp,
} from './hook-fixtures.mjs'

export const name = 'hook-round-trip'

export const TARGET_WALL_RATIO = 8
export const TARGET_RSS_MIB = 40

/** @param {{runs:number}} opts */
export async function run({ runs }) {
  if (!existsSync(HOOK_BIN)) throw new Error(`${HOOK_BIN} missing; run npm run build`)
  const work = mkdtempSync(join(tmpdir(), 'ndra-bench-hook-'))
  const server = await startBenchServer()
  try {
    const wire = await captureHookWire(HOOK_BIN, server.socketPath)
    const reqFile = writeTemp(work, 'request.bin', wire)
    const cClient = buildCClient(work)
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
      ],
      runs,
    )
    const c = results.find(r => r.name === 'c-client')
    const hook = results.find(r => r.name === 'network-dra-hook')
    const wallRatio = Math.round((hook.wallMsMedian / c.wallMsMedian) * 10) / 10
    const summary = {
      scenario: name,
      runs,
      requestBytes: wire.length,
      serverCalls: server.stats.calls - before,
      results,
      wallRatio,
      hookPeakRssMiB: hook.rssMiBMedian,
      targets: { wallRatio: TARGET_WALL_RATIO, peakRssMiB: TARGET_RSS_MIB },
      withinTargets: wallRatio <= TARGET_WALL_RATIO && hook.rssMiBMedian <= TARGET_RSS_MIB,
    }
    return { text: table(results, 'c-client'), summary }
  } finally {
    await server.stop()
    rmSync(work, { recursive: true, force: true })
  }
}
