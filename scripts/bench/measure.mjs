// Process measurement helpers for the benchmarks: wall time (hrtime around the whole child, so
// start-up is included) and peak RSS (GNU time's %M, written to a side file so the child's own
// stderr stays clean). Used by every scenario module in this folder. Order statistics and text
// tables live in lib/stats.ts and lib/text-table.ts (loaded through Node's type stripping), shared
// with the pod-start benchmark (pods.mjs).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, round } from './lib/stats.ts'
import { formatTable } from './lib/text-table.ts'

export { median }

export const GNU_TIME = '/usr/bin/time'

/**
 * Run `cmd args` once under GNU time with `stdin` piped in.
 * @returns {Promise<{wallMs:number, rssKiB:number, code:number|null, stdout:string, stderr:string}>}
 */
export async function timeRun(cmd, args, { stdin = '', env } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-bench-'))
  const out = join(dir, 'time.txt')
  try {
    const t0 = process.hrtime.bigint()
    const child = spawn(GNU_TIME, ['-f', '%M', '-o', out, cmd, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: env ?? process.env,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    child.stdin.end(stdin)
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject)
      child.on('close', c => resolve(c))
    })
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
    const lines = readFileSync(out, 'utf8').trim().split('\n')
    const rssKiB = Number(lines[lines.length - 1])
    return { wallMs, rssKiB, code, stdout, stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Run every candidate `runs` times, interleaved (A B C A B C …) so drift in machine load hits all
 * candidates alike. A run with a non-zero exit code aborts the benchmark: a failing client
 * measures nothing.
 * @param {{name:string, cmd:string, args:string[], stdin?:string}[]} candidates
 */
export async function interleaved(candidates, runs, { warmup = 2 } = {}) {
  const samples = new Map(candidates.map(c => [c.name, []]))
  for (let i = -warmup; i < runs; i++) {
    for (const c of candidates) {
      const r = await timeRun(c.cmd, c.args, { stdin: c.stdin ?? '' })
      if (r.code !== 0) {
        throw new Error(`${c.name} exited ${r.code}: ${r.stderr.trim()}`)
      }
      if (i >= 0) samples.get(c.name).push(r)
    }
  }
  return candidates.map(c => {
    const s = samples.get(c.name)
    return {
      name: c.name,
      runs: s.length,
      wallMsMedian: round(median(s.map(x => x.wallMs))),
      wallMsMin: round(Math.min(...s.map(x => x.wallMs))),
      wallMsMax: round(Math.max(...s.map(x => x.wallMs))),
      rssMiBMedian: round(median(s.map(x => x.rssKiB)) / 1024),
      rssMiBMax: round(Math.max(...s.map(x => x.rssKiB)) / 1024),
    }
  })
}

/** Render results as a fixed-width text table, with ratios against `baseline` when given. */
export function table(results, baseline) {
  const base = baseline ? results.find(r => r.name === baseline) : undefined
  const head = [
    'candidate',
    'runs',
    'wall ms (median)',
    'min',
    'max',
    'peak RSS MiB (median)',
    'max',
  ]
  if (base) head.push('× wall', '× RSS')
  const rows = results.map(r => {
    const row = [
      r.name,
      r.runs,
      r.wallMsMedian,
      r.wallMsMin,
      r.wallMsMax,
      r.rssMiBMedian,
      r.rssMiBMax,
    ]
    if (base) {
      row.push(round(r.wallMsMedian / base.wallMsMedian), round(r.rssMiBMedian / base.rssMiBMedian))
    }
    return row
  })
  return formatTable(head, rows)
}
