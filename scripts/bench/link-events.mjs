// `npm run bench:links` (as root): how fast and how cheaply a change of a link's state reaches the
// driver, for the candidates of issue 10 side by side in one run: (a) `ip -o monitor link` (what
// src/inventory/link-monitor.ts runs), (b) polling `ip -j link show` every 1 s and every 10 s (the
// old inventory loop), (c) the npm rtnetlink binding `netlink` (a prebuilt N-API addon, installed
// only into a scratch prefix, never into the repository; --no-library skips it).
//
// Everything happens in a network namespace of its own (ndra-linkbench-<pid>) holding a veth pair
// lb0/lb1; no host link is touched. The namespace (and with it the veth) is deleted at the end, on
// failure and on SIGINT/SIGTERM too. All listeners run at once and see the same flips: lb0 is set
// down, then up, alternately, `--flips` times; before each flip the script waits a random 0–10 s so
// that the flip falls at a random phase of the pollers. A flip's latency per candidate is the time
// from the `ip link set` call returning (its exit seen by this process) to the first report that
// shows the new admin state (the UP flag): a monitor line read from the pipe, a poll that finished,
// or the library's message, stamped in the listener with the shared monotonic clock. A report can
// come before the call's exit is seen (the kernel notifies while `ip` is still exiting): such
// latencies are negative, and the time from the call's start is recorded as well.
// Costs: the listeners' RSS (VmRSS, VmHWM) and CPU time (utime + stime from /proc/<pid>/stat)
// over the run; for polling, the wall time of each `ip -j link show` spawn and, after the run, the
// CPU time of `--calibrate` sequential polls (this process's waited-for children, cutime + cstime).
// Prints a table and JSON (also bench-results/link-events-<timestamp>.json). Not during an e2e run:
// the cluster's teardown unmounts every /run/netns entry, this namespace included.
//
// usage: node scripts/bench/link-events.mjs [--flips N] [--calibrate N] [--no-library]
//        [--library-prefix DIR]   (root)
import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Command, InvalidArgumentError } from 'commander'
import { median, round, summarize } from './lib/stats.ts'
import { formatTable } from './lib/text-table.ts'

const ROOT = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)
const NS = `ndra-linkbench-${process.pid}`
const DEV = 'lb0'
const PEER = 'lb1'
/** The npm binding measured as candidate (c), pinned. */
const LIBRARY = 'netlink@0.3.0'
const POLL_INTERVALS_MS = [1_000, 10_000]
/** Longest wait for every candidate to see one flip (the 10 s poller plus a slow spawn). */
const DETECT_TIMEOUT_MS = 30_000
const CLK_TCK = 100

const positiveInt = v => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer')
  return n
}
const opts = new Command()
  .option('--flips <n>', 'link state changes (alternately down and up)', positiveInt, 30)
  .option('--calibrate <n>', 'sequential polls timed for their CPU cost', positiveInt, 100)
  .option('--no-library', 'skip the npm netlink binding')
  .option('--library-prefix <dir>', 'scratch npm prefix for the binding', '/tmp/linkbench-npm')
  .parse()
  .opts()

const now = () => Number(process.hrtime.bigint()) / 1e6

/** utime + stime of a process in ms (clock ticks of 10 ms), or null once it is gone. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK
  } catch {
    return null
  }
}

/** cutime + cstime of this process in ms: the CPU of the children it has waited for. */
function childrenCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK
}

/** VmRSS and VmHWM of a process in MiB. */
function memMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = key => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: round(kib('VmRSS') / 1024, 2), hwm: round(kib('VmHWM') / 1024, 2) }
}

// ---- namespace and cleanup ----

let nsCreated = false
const children = []
const pollers = []
function cleanup() {
  for (const p of pollers) p.stop()
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill()
  if (!nsCreated) return
  nsCreated = false
  try {
    // Synchronous so it also runs from the signal handlers; the veth goes with the namespace.
    spawnSyncQuiet('ip', ['netns', 'del', NS])
  } catch (err) {
    console.error(`link-events: could not delete netns ${NS}: ${String(err)}`)
  }
}
function spawnSyncQuiet(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${String(r.status)}`)
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup()
    process.exit(130)
  })
}

async function setUp() {
  await run('ip', ['netns', 'add', NS])
  nsCreated = true
  await run('ip', ['-n', NS, 'link', 'add', DEV, 'type', 'veth', 'peer', 'name', PEER])
  await run('ip', ['-n', NS, 'link', 'set', PEER, 'up'])
  await run('ip', ['-n', NS, 'link', 'set', DEV, 'up'])
}

// ---- candidates ----

/**
 * A candidate: `seen(up)` resolves with the time of its first report of lb0 in admin state `up`
 * after `arm()`; reports before arming are ignored.
 */
function detector(name) {
  let want = null
  let since = 0
  let resolve = null
  return {
    name,
    latencies: [],
    arm(up, t) {
      want = up
      since = t
      return new Promise(r => (resolve = r))
    },
    report(up, t) {
      if (want === null || up !== want || t < since - 1000) return
      want = null
      resolve?.(t)
    },
  }
}

/** (a) `ip -n NS -o monitor link`, lines read from the pipe as the driver reads them. */
function startMonitor() {
  const d = detector('ip -o monitor link')
  const child = spawn('ip', ['-n', NS, '-o', 'monitor', 'link'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  children.push(child)
  createInterface({ input: child.stdout }).on('line', line => {
    const t = now()
    const m = /^\d+: ([^:@]+)[^<]*<([^>]*)>/.exec(line)
    if (m?.[1] === DEV) d.report(m[2].split(',').includes('UP'), t)
  })
  d.pid = child.pid
  return d
}

/** (b) `ip -n NS -j link show` every `intervalMs` (a free-running timer, like the old loop). */
function startPoller(intervalMs) {
  const d = detector(`poll ip -j link show, ${intervalMs / 1000} s`)
  d.pollMs = []
  let stopped = false
  const loop = async () => {
    while (!stopped) {
      const t0 = now()
      let stdout
      try {
        ;({ stdout } = await run('ip', ['-n', NS, '-j', 'link', 'show']))
      } catch (err) {
        if (!stopped) d.error = err
        return
      }
      const t = now()
      d.pollMs.push(t - t0)
      const link = JSON.parse(stdout).find(l => l.ifname === DEV)
      if (link) d.report(link.flags.includes('UP'), t)
      await sleep(Math.max(0, intervalMs - (now() - t0)))
    }
  }
  d.done = loop()
  d.stop = () => (stopped = true)
  return d
}

/** (c) the npm binding in a Node.js child inside the namespace, stamping messages on arrival. */
async function startLibrary(prefix) {
  const pkgDir = join(prefix, 'node_modules', 'netlink')
  if (!existsSync(join(pkgDir, 'package.json'))) {
    // Scratch prefix only; the package's install script (node-gyp-build) is not run: the
    // binding loads its shipped prebuild (prebuilds/linux-x64/node.napi.node).
    await run('npm', ['install', '--prefix', prefix, '--no-save', LIBRARY])
  }
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version
  const prebuild = existsSync(join(pkgDir, 'prebuilds', `linux-${process.arch}`, 'node.napi.node'))
  const d = detector(`npm netlink ${version} (N-API prebuild)`)
  const src = `
    const before = process.memoryUsage.rss()
    const { createRtNetlink } = require(${JSON.stringify(pkgDir)})
    const s = createRtNetlink({ ref: true })
    s.addMembership('LINK')
    s.on('message', m => {
      const t = Number(process.hrtime.bigint()) / 1e6
      for (const p of m) if (p.kind === 'link' && p.attrs.ifname === ${JSON.stringify(DEV)})
        process.stdout.write(t + ' ' + (p.data.flags.up === true ? 'up' : 'down') + '\\n')
    })
    process.stdout.write('ready ' + before + ' ' + process.memoryUsage.rss() + '\\n')`
  const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', src], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  const ready = new Promise((resolve, reject) => {
    child.on('exit', code => reject(new Error(`netlink listener exited ${String(code)}`)))
    createInterface({ input: child.stdout }).on('line', line => {
      const [a, b, c] = line.split(' ')
      if (a === 'ready') {
        d.rssBeforeImportMiB = round(Number(b) / 2 ** 20, 2)
        d.rssAfterSocketMiB = round(Number(c) / 2 ** 20, 2)
        resolve()
      } else d.report(b === 'up', Number(a))
    })
  })
  await ready
  d.pid = child.pid
  d.version = version
  d.prebuild = prebuild
  return d
}

// ---- the run ----

async function flip(detectors, up) {
  const t0 = now()
  const seen = detectors.map(d => d.arm(up, t0))
  await run('ip', ['-n', NS, 'link', 'set', DEV, up ? 'up' : 'down'])
  const t1 = now()
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no report of ${DEV} ${up ? 'up' : 'down'} within 30 s`)),
      DETECT_TIMEOUT_MS,
    )
  })
  const failed = detectors.find(d => d.error)
  if (failed) throw new Error(`${failed.name}: ${String(failed.error)}`)
  const times = await Promise.race([Promise.all(seen), timeout])
  clearTimeout(timer)
  for (const [i, d] of detectors.entries()) {
    d.latencies.push({ up, fromReturn: times[i] - t1, fromStart: times[i] - t0 })
  }
}

function pollCalibration(n) {
  const c0 = childrenCpuMs()
  const p0 = process.cpuUsage()
  const wall = []
  for (let i = 0; i < n; i++) {
    const t0 = now()
    const r = spawnSync('ip', ['-n', NS, '-j', 'link', 'show'], { stdio: 'ignore' })
    if (r.status !== 0) throw new Error(`ip -j link show exited ${String(r.status)}`)
    wall.push(now() - t0)
  }
  const p = process.cpuUsage(p0)
  const cpuMs = (childrenCpuMs() - c0) / n
  const parentCpuMs = (p.user + p.system) / 1000 / n
  return {
    n,
    wallMs: round(median(wall), 2),
    cpuMs: round(cpuMs, 2),
    parentCpuMs: round(parentCpuMs, 2),
    totalCpuMs: round(cpuMs + parentCpuMs, 2),
  }
}

if (process.getuid?.() !== 0) {
  console.error('link-events: run as root (it creates a network namespace)')
  process.exit(2)
}

let report
try {
  await setUp()
  const monitor = startMonitor()
  let library = null
  let libraryNote = null
  if (opts.library) {
    try {
      library = await startLibrary(opts.libraryPrefix)
    } catch (err) {
      libraryNote = `npm netlink not measured: ${err instanceof Error ? err.message : String(err)}`
    }
  } else libraryNote = 'npm netlink skipped (--no-library)'
  pollers.push(...POLL_INTERVALS_MS.map(startPoller))
  const listeners = [monitor, ...(library ? [library] : [])]
  await sleep(1_500)
  const cpu0 = new Map(listeners.map(d => [d, cpuMs(d.pid)]))
  const started = now()
  const detectors = [...listeners, ...pollers]
  for (let i = 0; i < opts.flips; i++) {
    await sleep(Math.random() * Math.max(...POLL_INTERVALS_MS))
    await flip(detectors, i % 2 === 1)
    process.stderr.write(`\rlink-events: flip ${i + 1}/${opts.flips}`)
  }
  process.stderr.write('\n')
  const runS = (now() - started) / 1000
  for (const d of listeners) {
    d.cpuMs = cpuMs(d.pid) - cpu0.get(d)
    d.mem = memMiB(d.pid)
  }
  for (const p of pollers) p.stop()
  await Promise.all(pollers.map(p => p.done))
  const calibration = pollCalibration(opts.calibrate)

  const summary = d => {
    const ms = d.latencies.map(l => l.fromReturn)
    const s = summarize(ms)
    return {
      candidate: d.name,
      latencyMs: {
        n: s.n,
        p50: round(s.p50, 2),
        p90: round(s.p90, 2),
        max: round(s.max, 2),
        mean: round(s.mean, 2),
        downP50: round(median(d.latencies.filter(l => !l.up).map(l => l.fromReturn)), 2),
        upP50: round(median(d.latencies.filter(l => l.up).map(l => l.fromReturn)), 2),
        fromCallStartP50: round(median(d.latencies.map(l => l.fromStart)), 2),
      },
      samplesMs: d.latencies.map(l => round(l.fromReturn, 2)),
    }
  }
  const rows = [
    {
      ...summary(monitor),
      rssMiB: monitor.mem.rss,
      peakRssMiB: monitor.mem.hwm,
      cpuMsOverRun: monitor.cpuMs,
      cpuMsPerHourIdle: null,
    },
    ...(library
      ? [
          {
            ...summary(library),
            rssMiB: library.mem.rss,
            peakRssMiB: library.mem.hwm,
            rssBeforeImportMiB: library.rssBeforeImportMiB,
            rssAfterSocketMiB: library.rssAfterSocketMiB,
            cpuMsOverRun: library.cpuMs,
            prebuild: library.prebuild,
          },
        ]
      : []),
    ...pollers.map(p => ({
      ...summary(p),
      polls: p.pollMs.length,
      pollWallMsP50: round(median(p.pollMs), 2),
      cpuMsPerHour: round(
        (3_600_000 / POLL_INTERVALS_MS[pollers.indexOf(p)]) * calibration.totalCpuMs,
      ),
    })),
  ]
  const table = formatTable(
    [
      'candidate',
      'latency P50 ms',
      'P90',
      'max',
      'mean',
      'P50 from call start',
      'RSS MiB',
      'CPU ms (run)',
      'poll wall ms P50',
    ],
    rows.map(r => [
      r.candidate,
      r.latencyMs.p50,
      r.latencyMs.p90,
      r.latencyMs.max,
      r.latencyMs.mean,
      r.latencyMs.fromCallStartP50,
      r.rssMiB ?? null,
      r.cpuMsOverRun ?? null,
      r.pollWallMsP50 ?? null,
    ]),
  )
  report = {
    scenario: 'link-events',
    date: new Date().toISOString(),
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    flips: opts.flips,
    runSeconds: round(runS),
    calibration: {
      ...calibration,
      note:
        'sequential `ip -j link show` spawns after the run: median wall ms; mean CPU ms of the ' +
        'child (cutime + cstime, 10 ms ticks summed over n) and of the spawning Node.js process',
    },
    libraryNote,
    candidates: rows,
  }
  console.log(
    `\n== link-events (${opts.flips} flips of ${DEV} in netns ${NS}, ${round(runS)} s) ==`,
  )
  console.log(table)
  console.log(
    `one poll (${calibration.n} sequential): ${calibration.wallMs} ms wall (median), ` +
      `${calibration.cpuMs} ms CPU in ip + ${calibration.parentCpuMs} ms in the spawning ` +
      `Node.js process (means); per hour: ` +
      rows
        .filter(r => r.cpuMsPerHour !== undefined)
        .map(r => `${r.candidate} ${r.cpuMsPerHour} ms CPU`)
        .join(', '),
  )
  if (library) {
    console.log(
      `npm netlink listener: RSS ${library.rssBeforeImportMiB} MiB before import, ` +
        `${library.rssAfterSocketMiB} MiB with the socket (Node.js process)`,
    )
  }
  if (libraryNote) console.log(libraryNote)
} catch (err) {
  cleanup()
  throw err
}
cleanup()

console.log(JSON.stringify(report, null, 2))
const outDir = join(ROOT, 'bench-results')
mkdirSync(outDir, { recursive: true })
const file = join(outDir, `link-events-${report.date.replace(/[:.]/g, '-')}.json`)
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
console.log(`link-events: wrote ${file}`)
