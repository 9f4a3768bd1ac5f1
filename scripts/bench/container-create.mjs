// Benchmark scenario: what our hook adds to a container create. Three candidates, interleaved
// run by run so machine drift hits all alike:
//   podman-run-hook     podman run --rm --device <our CDI id> … true  (hook → plugin → CNI ADD)
//   podman-run-plain    the same podman run without the device        (the runtime's own cost)
//   attach-in-plugin    the plugin-side attach of each hooked run (pod resolve + CNI ADD via our
//                       CniRuntime + state write), from the attacher's metrics seam
//   cni-add-direct      the same CNI chain run by hand: the plugin binary with CNI_* env and the
//                       config on stdin into a fresh netns (ADD timed; DEL and netns untimed)
// Between samples the claim is detached and netns removed (untimed), so every hooked run is a
// fresh ADD, never the idempotent fast path. Reports medians and ratios as a table and JSON
// (also written to bench-results/container-create.json).
// usage: node scripts/bench/container-create.mjs [runs=20]   (root; needs `npm run build` first)
// As a module (scripts/bench/run.mjs): `run({ runs })` → `{ text, summary }`.
import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { median, timeRun } from './measure.mjs'
import { HOOK_BIN, ROOT } from './hook-fixtures.mjs'

const TEST_IMAGE = 'localhost/network-dra-test:v1'
const CNI_DIR = '/usr/lib/cni'

const dist = p => pathToFileURL(join(ROOT, 'dist', p)).href

function ip(...args) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function round(x) {
  return Math.round(x * 10) / 10
}

function summarize(name, samples) {
  return {
    name,
    runs: samples.length,
    wallMsMedian: round(median(samples)),
    wallMsMin: round(Math.min(...samples)),
    wallMsMax: round(Math.max(...samples)),
  }
}

function render(results, baseline) {
  const base = results.find(r => r.name === baseline)
  const head = ['candidate', 'runs', 'wall ms (median)', 'min', 'max', `× ${baseline}`]
  const rows = results.map(r =>
    [
      r.name,
      r.runs,
      r.wallMsMedian,
      r.wallMsMin,
      r.wallMsMax,
      round(r.wallMsMedian / base.wallMsMedian),
    ].map(String),
  )
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
  const fmt = r => r.map((c, i) => c.padEnd(widths[i])).join('  ')
  return [fmt(head), fmt(widths.map(w => '-'.repeat(w))), ...rows.map(fmt)].join('\n')
}

/** Scenario name for scripts/bench/run.mjs. */
export const name = 'container-create'

/** Run the scenario; returns `{ text, summary }` (table text; JSON summary). */
export async function run({ runs = 20, hookBin = process.env.NDRA_HOOK_BIN ?? HOOK_BIN } = {}) {
  if (!existsSync(hookBin))
    throw new Error(`hook executable ${hookBin} missing: run \`npm run build\` first`)
  const [
    { Attacher },
    { Detacher },
    { RequestLocks },
    { FsNetnsProbe },
    { HookServer },
    { PodResolver },
    { CdiSpecWriter },
    { CniRuntime },
    { ClaimLedger },
    { silentLogger },
  ] = await Promise.all([
    import(dist('src/attach/attacher.js')),
    import(dist('src/attach/detacher.js')),
    import(dist('src/attach/request-locks.js')),
    import(dist('src/attach/attach-netns-probe.js')),
    import(dist('src/attach/hook-server.js')),
    import(dist('src/attach/pod-resolver.js')),
    import(dist('src/cdi/spec-writer.js')),
    import(dist('src/cni/runtime.js')),
    import(dist('src/state/claim-ledger.js')),
    import(dist('src/logger.js')),
  ])
  const sfx = randomBytes(3).toString('hex')
  const master = `ndbm${sfx}`
  const work = mkdtempSync(join(tmpdir(), 'ndra-bench-cc-'))
  const dataDir = join(work, 'ipam')
  const octet = 1 + (randomBytes(1)[0] % 250)
  const netName = `ndra-bench-${sfx}`
  const networkConfig = {
    cniVersion: '1.0.0',
    name: netName,
    plugins: [
      {
        type: 'macvlan',
        master,
        mode: 'bridge',
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: `10.99.${octet}.0/24` }]] },
      },
    ],
  }
  const claimUid = randomUUID()
  const socketPath = join(work, 'sock', 'hook.sock')
  const containers = []
  /** Plugin-side attach latency (resolve + CNI ADD + state write), from the AttachMetrics seam. */
  const attachMs = []
  let server
  let ledger
  let specs
  try {
    ip('link', 'add', master, 'type', 'veth', 'peer', 'name', `ndbp${sfx}`)
    ip('link', 'set', master, 'up')
    ledger = await ClaimLedger.open({ dir: join(work, 'state') })
    await ledger.prepared({
      uid: claimUid,
      namespace: 'bench',
      name: 'bench',
      plans: [
        {
          request: 'net',
          pool: 'node',
          device: 'attachment-0',
          networkConfig,
          ifName: 'net1',
          capabilityArgs: {},
          cniArgs: [],
        },
      ],
      cdiDeviceIds: [],
    })
    specs = new CdiSpecWriter({
      cdiRoot: '/var/run/cdi',
      driverName: 'network-dra.dev',
      hookPath: hookBin,
      hookSocket: socketPath,
      hookTimeoutSeconds: 30,
    })
    const [deviceId] = await specs.write(claimUid, [{ device: 'attachment-0', request: 'net' }])
    const probe = new FsNetnsProbe()
    const logger = silentLogger()
    const cni = new CniRuntime({
      binDirs: [CNI_DIR],
      cacheDir: join(work, 'cache'),
      pluginTimeoutMs: 20_000,
    })
    const locks = new RequestLocks()
    const attacher = new Attacher({
      ledger,
      cni,
      resolver: new PodResolver({ probe }),
      probe,
      locks,
      logger,
      metrics: {
        observeAttach: o => {
          if (o.outcome === 'added' && o.code === 'OK') attachMs.push(o.seconds * 1000)
        },
      },
    })
    const detacher = new Detacher({ ledger, cni, probe, locks, logger })
    server = new HookServer({ socketPath, handler: attacher, logger })
    await server.start()

    const podmanArgs = (name, device) => [
      'run',
      '--rm',
      '--name',
      name,
      '--network=none',
      '--ulimit',
      'nofile=1024:1024',
      '--ulimit',
      'nproc=1024:1024',
      ...(device ? ['--device', device] : []),
      TEST_IMAGE,
      'true',
    ]
    const plugin = networkConfig.plugins[0]
    const stdin = JSON.stringify({ ...plugin, name: netName, cniVersion: networkConfig.cniVersion })
    const samples = {
      'podman-run-hook': [],
      'podman-run-plain': [],
      'attach-in-plugin': [],
      'cni-add-direct': [],
    }
    const warmup = 2
    for (let i = -warmup; i < runs; i++) {
      // 1. container create through our hook (a fresh ADD each time: detached below).
      const hooked = `ndbh${sfx}-${i + warmup}`
      containers.push(hooked)
      const a = await timeRun('podman', podmanArgs(hooked, deviceId))
      if (a.code !== 0) throw new Error(`podman run with hook failed: ${a.stderr.trim()}`)
      await detacher.detachClaim(claimUid)
      // 2. the same container without our device.
      const plainName = `ndbp${sfx}-${i + warmup}`
      containers.push(plainName)
      const b = await timeRun('podman', podmanArgs(plainName))
      if (b.code !== 0) throw new Error(`plain podman run failed: ${b.stderr.trim()}`)
      // 3. the plugin chain by hand into a fresh netns.
      const ns = `ndbn${sfx}-${i + warmup}`
      ip('netns', 'add', ns)
      const containerId = `bench${sfx}${i + warmup}`
      const env = {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_CONTAINERID: containerId,
        CNI_NETNS: `/run/netns/${ns}`,
        CNI_IFNAME: 'net1',
        CNI_ARGS: 'IgnoreUnknown=1',
        CNI_PATH: CNI_DIR,
      }
      const c = await timeRun(join(CNI_DIR, plugin.type), [], {
        stdin,
        env: { ...env, CNI_COMMAND: 'ADD' },
      })
      const del = await timeRun(join(CNI_DIR, plugin.type), [], {
        stdin,
        env: { ...env, CNI_COMMAND: 'DEL' },
      })
      ip('netns', 'del', ns)
      if (c.code !== 0)
        throw new Error(`direct CNI ADD failed: ${c.stdout.trim()} ${c.stderr.trim()}`)
      if (del.code !== 0)
        throw new Error(`direct CNI DEL failed: ${del.stdout.trim()} ${del.stderr.trim()}`)
      if (i >= 0) {
        samples['podman-run-hook'].push(a.wallMs)
        samples['podman-run-plain'].push(b.wallMs)
        samples['attach-in-plugin'].push(attachMs.at(-1))
        samples['cni-add-direct'].push(c.wallMs)
      }
    }
    const results = Object.entries(samples).map(([name, s]) => summarize(name, s))
    const by = Object.fromEntries(results.map(r => [r.name, r.wallMsMedian]))
    const derived = {
      hookOverheadMsMedian: round(by['podman-run-hook'] - by['podman-run-plain']),
      hookOverheadOverDirectAdd: round(
        (by['podman-run-hook'] - by['podman-run-plain']) / by['cni-add-direct'],
      ),
      attachInPluginOverDirectAdd: round(by['attach-in-plugin'] / by['cni-add-direct']),
      hookedCreateOverDirectAdd: round(by['podman-run-hook'] / by['cni-add-direct']),
    }
    const text = [
      render(results, 'cni-add-direct'),
      `hook overhead (hooked − plain podman run, medians): ${derived.hookOverheadMsMedian} ms = ${derived.hookOverheadOverDirectAdd}× the direct CNI ADD`,
    ].join('\n')
    return { text, summary: { scenario: name, runs, results, derived } }
  } finally {
    for (const name of containers) {
      try {
        execFileSync('podman', ['rm', '-f', '--ignore', name], { stdio: 'ignore' })
      } catch {
        // best effort
      }
    }
    if (server) await server.stop(0).catch(() => undefined)
    if (specs) await specs.remove(claimUid).catch(() => undefined)
    if (ledger) await ledger.close().catch(() => undefined)
    try {
      ip('link', 'del', master)
    } catch {
      // already gone
    }
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runs = Number(process.argv[2] ?? 20)
  const out = await run({ runs })
  console.log(out.text)
  const json = JSON.stringify(out.summary, null, 2)
  console.log(json)
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true })
  writeFileSync(join(ROOT, 'bench-results', 'container-create.json'), json + '\n')
}
