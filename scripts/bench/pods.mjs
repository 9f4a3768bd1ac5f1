// `npm run bench:pods` (through pods.sh, which builds and brings the cluster up): pod start-up with
// and without a network claim on the real single-node cluster. Installs the chart (release
// ndra-bench: the e2e values plus pods-values.yaml, which lets namespace ndra-bench-pods write a
// macvlan + host-local network on the decoy veth ndra-bench0 this script creates; never a link of
// the machine), then runs interleaved round pairs: a Deployment scaled 0 → N without claims and one
// with a ResourceClaimTemplate (order alternates per pair). Each pod's Ready time is taken from a
// watch, from the moment the scale call is sent. For every round it also records the time until
// every claim's status is written, then scales back to 0 and waits until pods and claims are gone.
// The plugin's /metrics are read before and after each round; the difference gives the per-stage
// driver times (prepare / unprepare RPC, attach, CNI ADD / DEL, claim status writes, state-file
// updates by phase). Prints the tables and JSON (also bench-results/pods-<timestamp>.json), then
// removes what it created (namespace, release unless it was there before, veth).
// --cpu-prof runs the plugin under `node --cpu-prof` (NODE_OPTIONS through the chart's
// plugin.extraEnv; the profile lands in the plugin's state directory on the node), uninstalls the
// release at the end so the plugin writes it, copies it to bench-results/ and prints where the
// time went (cpu-profile.mjs). The profiler slows the plugin: measure and profile in separate runs.
//
// usage: node scripts/bench/pods.mjs [--pods N] [--rounds R] [--keep] [--cpu-prof]   (root; cluster up)
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Command, InvalidArgumentError } from 'commander'
import { execa } from 'execa'
import { AppsV1Api, CoreV1Api, KubeConfig, ResourceV1Api, Watch } from '@kubernetes/client-node'
import { PLATFORM } from '../../test/lib/platform.ts'
import {
  EMPTY,
  add,
  histogram,
  mean,
  parseSamples,
  quantile,
  subtract,
} from './lib/prom-histograms.ts'
import { median, ratio, round, summarize } from './lib/stats.ts'
import { formatTable } from './lib/text-table.ts'
import { printProfile } from './cpu-profile.mjs'

const ROOT = new URL('../../', import.meta.url).pathname
const KUBECONFIG = process.env.NDRA_KUBECONFIG ?? '/var/lib/network-dra-cluster/admin.kubeconfig'
const KUBECTL = process.env.KUBECTL ?? PLATFORM.kubectl
const HELM = process.env.HELM ?? PLATFORM.helm
const DRIVER = 'network-dra.dev'
const RELEASE = 'ndra-bench'
const SYSTEM_NS = 'network-dra-system'
const NS = 'ndra-bench-pods'
/** The decoy macvlan parent: a veth pair whose both ends are ours (pods-values.yaml allows it). */
const VETH = 'ndra-bench0'
const SUBNET = '10.98.0.0/21'
const METRICS_URL = 'http://127.0.0.1:9465/metrics'
const TEST_IMAGE = 'localhost/network-dra-test:v1'
const PLUGIN_IMAGE = 'localhost/network-dra:dev'
const MINUTE = 60_000
/** Where the profiled plugin writes: the chart's default state directory, a hostPath. */
const CPU_PROF_DIR = '/var/lib/network-dra/cpu-prof'

/** Driver stages read from /metrics: histogram name and the labels that select the stage. */
const STAGES = [
  {
    stage: 'prepare RPC',
    name: 'network_dra_rpc_duration_seconds',
    match: { service: 'dra', method: 'NodePrepareResources' },
  },
  { stage: 'attach (hook → reply)', name: 'network_dra_attach_duration_seconds', match: {} },
  {
    stage: 'CNI ADD (plugin run)',
    name: 'network_dra_cni_plugin_duration_seconds',
    match: { command: 'ADD' },
  },
  { stage: 'claim status write', name: 'network_dra_status_write_duration_seconds', match: {} },
  {
    stage: 'state update: total',
    name: 'network_dra_state_write_duration_seconds',
    match: { phase: 'total' },
  },
  {
    stage: 'state update: queue',
    name: 'network_dra_state_write_duration_seconds',
    match: { phase: 'queue' },
  },
  {
    stage: 'state update: lock',
    name: 'network_dra_state_write_duration_seconds',
    match: { phase: 'lock' },
  },
  {
    stage: 'state update: write',
    name: 'network_dra_state_write_duration_seconds',
    match: { phase: 'write' },
  },
  {
    stage: 'unprepare RPC',
    name: 'network_dra_rpc_duration_seconds',
    match: { service: 'dra', method: 'NodeUnprepareResources' },
  },
  {
    stage: 'CNI DEL (plugin run)',
    name: 'network_dra_cni_plugin_duration_seconds',
    match: { command: 'DEL' },
  },
]

const positiveInt = what => v => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`${what} must be an integer ≥ 1`)
  return n
}

const program = new Command('bench:pods')
  .description('pod Ready latency with and without a network claim on the local cluster')
  .option('--pods <n>', 'pods per round (Deployment replicas)', positiveInt('--pods'), 100)
  .option('--rounds <r>', 'round pairs (one without, one with claims)', positiveInt('--rounds'), 2)
  .option('--keep', 'keep the release, namespace and veth for the next run', false)
  .option('--timeout <s>', 'seconds one scale-up may take', positiveInt('--timeout'), 600)
  .option('--cpu-prof', 'profile the plugin (node --cpu-prof) and print where its time went', false)
  .parse()
/** @type {{pods:number, rounds:number, keep:boolean, timeout:number, cpuProf:boolean}} */
const opts = program.opts()
if (opts.pods > 109) {
  // The kubelet runs at most 110 pods (its default maxPods), one of them the plugin.
  program.error('--pods: at most 109 on the single-node cluster (kubelet maxPods 110)')
}

const kc = new KubeConfig()
kc.loadFromFile(KUBECONFIG)
const apps = kc.makeApiClient(AppsV1Api)
const core = kc.makeApiClient(CoreV1Api)
const resource = kc.makeApiClient(ResourceV1Api)

const log = msg => console.error(`[bench:pods ${new Date().toISOString().slice(11, 19)}] ${msg}`)

async function kubectl(args, input) {
  const r = await execa(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], {
    ...(input === undefined ? {} : { input }),
    timeout: 5 * MINUTE,
  })
  return r.stdout
}

const helm = args => execa(HELM, ['--kubeconfig', KUBECONFIG, ...args], { timeout: 10 * MINUTE })

/** Poll `fn` every `everyMs` until it returns a non-undefined value; throws after `timeoutMs`. */
async function waitFor(what, timeoutMs, fn, everyMs = 500) {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

function manifests() {
  const network = {
    cniVersion: '1.0.0',
    name: 'ndra-bench',
    plugins: [
      {
        type: 'macvlan',
        master: VETH,
        mode: 'bridge',
        ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]] },
      },
    ],
  }
  const template = {
    apiVersion: 'resource.k8s.io/v1',
    kind: 'ResourceClaimTemplate',
    metadata: { name: 'bench-net', namespace: NS },
    spec: {
      spec: {
        devices: {
          requests: [{ name: 'net', exactly: { deviceClassName: `attachment.${DRIVER}` } }],
          config: [
            {
              requests: ['net'],
              opaque: {
                driver: DRIVER,
                parameters: {
                  apiVersion: `${DRIVER}/v1alpha1`,
                  kind: 'CNIConfig',
                  interfaceName: 'net1',
                  network,
                },
              },
            },
          ],
        },
      },
    },
  }
  const deployment = (name, withClaim) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          // Pods must not resolve names through the node's resolver.
          dnsPolicy: 'None',
          dnsConfig: { nameservers: ['127.0.0.1'] },
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 0,
          ...(withClaim
            ? { resourceClaims: [{ name: 'net', resourceClaimTemplateName: 'bench-net' }] }
            : {}),
          containers: [
            {
              name: 'main',
              image: TEST_IMAGE,
              imagePullPolicy: 'Never',
              command: ['sleep', '3600'],
              ...(withClaim ? { resources: { claims: [{ name: 'net' }] } } : {}),
            },
          ],
        },
      },
    },
  })
  return {
    kind: 'List',
    apiVersion: 'v1',
    items: [template, deployment('bench-without', false), deployment('bench-with', true)],
  }
}

/** Install (or keep) the bench release; returns whether this run installed it. */
async function installDriver() {
  const releases = JSON.parse((await helm(['list', '-A', '-o', 'json'])).stdout)
  const other = releases.find(r => r.chart.startsWith('network-dra-') && r.name !== RELEASE)
  if (other) {
    throw new Error(
      `release ${other.name} (namespace ${other.namespace}) of the chart is installed; the bench installs its own: helm uninstall it first`,
    )
  }
  const existed = releases.some(r => r.name === RELEASE)
  const imageId = (await execa('podman', ['image', 'inspect', '--format', '{{.Id}}', PLUGIN_IMAGE]))
    .stdout
  log(`${existed ? 'upgrading' : 'installing'} release ${RELEASE} (image ${imageId.slice(0, 12)})`)
  const work = mkdtempSync(join(tmpdir(), 'ndra-bench-pods-'))
  const profValues = join(work, 'cpu-prof-values.json')
  const env = [{ name: 'NODE_OPTIONS', value: `--cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}` }]
  writeFileSync(profValues, JSON.stringify({ plugin: { extraEnv: opts.cpuProf ? env : [] } }))
  await helm([
    'upgrade',
    '--install',
    RELEASE,
    join(ROOT, 'charts/network-dra'),
    '-n',
    SYSTEM_NS,
    '--create-namespace',
    '-f',
    join(ROOT, 'test/e2e/values.yaml'),
    '-f',
    join(ROOT, 'scripts/bench/pods-values.yaml'),
    '-f',
    profValues,
    // A rebuilt image under the same tag restarts the plugin.
    '--set-string',
    `podAnnotations.bench-image-id=${imageId.slice(0, 12)}`,
    '--wait',
    '--timeout',
    '5m',
  ]).finally(() => rmSync(work, { recursive: true, force: true }))
  const node = (await core.listNode()).items[0]?.metadata?.name
  await waitFor('ResourceSlices with the attachment slots', 2 * MINUTE, async () => {
    const slices = await resource.listResourceSlice({
      fieldSelector: `spec.driver=${DRIVER},spec.nodeName=${node}`,
    })
    const n = slices.items.flatMap(s => s.spec.devices ?? []).length
    return n >= opts.pods ? n : undefined
  })
  await waitFor('the plugin metrics endpoint', MINUTE, async () =>
    fetch(METRICS_URL).then(
      r => (r.ok ? true : undefined),
      () => undefined,
    ),
  )
  return !existed
}

async function setup() {
  await execa('ip', ['link', 'del', VETH], { reject: false })
  await execa('ip', ['link', 'add', VETH, 'type', 'veth', 'peer', 'name', `${VETH}p`])
  await execa('ip', ['link', 'set', VETH, 'up'])
  await execa('ip', ['link', 'set', `${VETH}p`, 'up'])
  const installed = await installDriver()
  await kubectl(['create', 'namespace', NS, '--dry-run=client', '-o', 'yaml']).then(y =>
    kubectl(['apply', '-f', '-'], y),
  )
  await kubectl(['apply', '-f', '-'], JSON.stringify(manifests()))
  return installed
}

async function cleanup(installed) {
  if (opts.keep && !opts.cpuProf) {
    log(`--keep: leaving namespace ${NS}, release ${RELEASE} and ${VETH}`)
    return
  }
  log('cleaning up')
  await kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=180s']).catch(e =>
    log(`deleting namespace ${NS}: ${e.message}`),
  )
  // A profiled plugin writes its profile when it exits: uninstall even a release that was there.
  if (installed || opts.cpuProf) {
    await helm(['uninstall', RELEASE, '-n', SYSTEM_NS, '--wait', '--timeout', '2m']).catch(e =>
      log(`uninstalling ${RELEASE}: ${e.message}`),
    )
  }
  await execa('ip', ['link', 'del', VETH], { reject: false })
}

async function scrape() {
  const r = await fetch(METRICS_URL)
  if (!r.ok) throw new Error(`${METRICS_URL}: HTTP ${r.status}`)
  return parseSamples(await r.text())
}

function gauge(samples, name) {
  return samples.find(s => s.name === name)?.value ?? null
}

const isReady = pod =>
  (pod.status?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')

/** Claim status complete: our driver's entry with an address and Ready=True. */
const statusDone = claim =>
  (claim.status?.devices ?? []).some(
    d =>
      d.driver === DRIVER &&
      (d.networkData?.ips ?? []).length > 0 &&
      (d.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True'),
  )

async function scale(deployment, replicas) {
  await apps.replaceNamespacedDeploymentScale({
    name: deployment,
    namespace: NS,
    body: { metadata: { name: deployment, namespace: NS }, spec: { replicas } },
  })
}

async function scaledDown(deployment, withClaims) {
  await scale(deployment, 0)
  await waitFor(
    `${deployment} pods and claims gone`,
    5 * MINUTE,
    async () => {
      const pods = await core.listNamespacedPod({
        namespace: NS,
        labelSelector: `app=${deployment}`,
      })
      if (pods.items.length > 0) return undefined
      if (!withClaims) return true
      const claims = await resource.listNamespacedResourceClaim({ namespace: NS })
      return claims.items.length === 0 ? true : undefined
    },
    1000,
  )
}

/**
 * Watch the deployment's pods from now on, calling `onPod` for every added or modified pod. The
 * client ends a watch after 30 s without events (pods waiting on a slow claim send none), and
 * the server ends them at will: each end re-watches from the last resourceVersion seen, so no
 * event is missed or replayed. `error` is set when a watch cannot be re-established.
 */
async function watchPods(deployment, onPod) {
  const list = await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${deployment}` })
  const state = { error: undefined, stop: () => undefined }
  let rv = list.metadata?.resourceVersion
  let stopped = false
  let controller
  const start = async () => {
    controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { labelSelector: `app=${deployment}`, resourceVersion: rv, allowWatchBookmarks: true },
      (type, obj) => {
        if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion
        if (type === 'ADDED' || type === 'MODIFIED') onPod(obj)
        if (type === 'ERROR') state.error = new Error(obj?.message ?? 'watch ERROR event')
      },
      err => {
        if (stopped || state.error) return
        if (err && err.name !== 'TimeoutError') state.error = err
        else start().catch(e => (state.error = e))
      },
    )
  }
  await start()
  state.stop = () => {
    stopped = true
    controller?.abort()
  }
  return state
}

/** What a stuck round looks like: pods, claims, recent events and the plugin's log tail. */
async function diagnostics() {
  const show = async (what, args) =>
    log(`${what}:\n${await kubectl(args).catch(e => String(e.stderr ?? e))}`)
  await show('pods', ['get', 'pods,resourceclaims', '-n', NS, '-o', 'wide'])
  await show('events', ['get', 'events', '-n', NS, '--sort-by=.lastTimestamp'])
  await show('plugin log', [
    'logs',
    '-n',
    SYSTEM_NS,
    '-l',
    'app.kubernetes.io/name=network-dra',
    '--tail=60',
  ])
}

/** One round: scale `deployment` 0 → n, time every pod's Ready, then back to 0. */
async function runRound(pair, withClaims) {
  const deployment = withClaims ? 'bench-with' : 'bench-without'
  const n = opts.pods
  const before = await scrape()
  const ready = new Map()
  let t0 = 0
  const watch = await watchPods(deployment, pod => {
    const uid = pod?.metadata?.uid
    if (t0 === 0 || !uid || ready.has(uid) || !isReady(pod)) return
    ready.set(uid, performance.now() - t0)
  })
  let readyMs
  let allReadyMs
  let statusMs = null
  let statusOk = null
  try {
    t0 = performance.now()
    await scale(deployment, n)
    await waitFor(
      `${n} pods of ${deployment} Ready`,
      opts.timeout * 1000,
      async () => {
        if (watch.error) throw new Error(`pod watch failed: ${String(watch.error)}`)
        return ready.size >= n ? true : undefined
      },
      50,
    )
    readyMs = [...ready.values()]
    allReadyMs = Math.max(...readyMs)
    if (withClaims) {
      // Nothing lost: every claim of the round ends with its status written.
      try {
        await waitFor(
          'every claim status written',
          2 * MINUTE,
          async () => {
            const claims = await resource.listNamespacedResourceClaim({ namespace: NS })
            statusOk = claims.items.filter(statusDone).length
            return statusOk >= n ? true : undefined
          },
          250,
        )
        statusMs = performance.now() - t0
      } catch (err) {
        log(`${err.message}: ${statusOk}/${n} claims have their status`)
      }
    }
  } catch (err) {
    await diagnostics()
    throw err
  } finally {
    watch.stop()
  }
  const atPeak = await scrape()
  await scaledDown(deployment, withClaims)
  if (withClaims) {
    // The kubelet unprepares after the pods are gone: wait for it, so the round's window holds
    // every unprepare and CNI DEL, and a claim left prepared shows.
    await waitFor(
      'every claim unprepared',
      2 * MINUTE,
      async () => (gauge(await scrape(), 'network_dra_prepared_claims') === 0 ? true : undefined),
      1000,
    ).catch(err => log(err.message))
  }
  await sleep(2000)
  const after = await scrape()
  const stages = Object.fromEntries(
    STAGES.map(s => [
      s.stage,
      subtract(histogram(after, s.name, s.match), histogram(before, s.name, s.match)),
    ]),
  )
  return {
    pair,
    claims: withClaims,
    pods: n,
    readyMs,
    allReadyMs,
    claimStatusMs: statusMs,
    claimStatusOk: statusOk,
    preparedClaimsAtPeak: gauge(atPeak, 'network_dra_prepared_claims'),
    preparedClaimsAfter: gauge(after, 'network_dra_prepared_claims'),
    pluginRssMiBAtPeak: mib(gauge(atPeak, 'network_dra_process_resident_memory_bytes')),
    stages,
  }
}

function mib(bytes) {
  return bytes === null ? null : round(bytes / 1024 / 1024)
}

/** Peak RSS (VmHWM) of the plugin daemon, found by its entrypoint; null when not found. */
function pluginPeakRssMiB() {
  for (const pid of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (!cmd.includes('/app/dist/src/main.js')) continue
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      if (m) return round(Number(m[1]) / 1024)
    } catch {
      // the process exited meanwhile
    }
  }
  return null
}

const s = ms => round(ms / 1000, 2)

function podTable(rounds) {
  const head = [
    'round',
    'claims',
    'pods',
    'P50 s',
    'P90 s',
    'P99 s',
    'max s',
    'all Ready s',
    'claim status s',
  ]
  const rows = rounds.map(r => {
    const x = summarize(r.readyMs)
    return [
      `pair ${r.pair + 1}`,
      r.claims ? 'with' : 'without',
      r.pods,
      s(x.p50),
      s(x.p90),
      s(x.p99),
      s(x.max),
      s(r.allReadyMs),
      r.claimStatusMs === null ? null : s(r.claimStatusMs),
    ]
  })
  const agg = {}
  for (const kind of ['without', 'with']) {
    const rs = rounds.filter(r => (r.claims ? 'with' : 'without') === kind)
    const xs = rs.map(r => summarize(r.readyMs))
    agg[kind] = {
      p50: median(xs.map(x => x.p50)),
      p90: median(xs.map(x => x.p90)),
      p99: median(xs.map(x => x.p99)),
      max: median(xs.map(x => x.max)),
      allReady: median(rs.map(r => r.allReadyMs)),
    }
    rows.push([
      'median',
      kind,
      opts.pods,
      s(agg[kind].p50),
      s(agg[kind].p90),
      s(agg[kind].p99),
      s(agg[kind].max),
      s(agg[kind].allReady),
      null,
    ])
  }
  const ratios = Object.fromEntries(
    Object.keys(agg.with).map(k => [k, ratio(agg.with[k], agg.without[k])]),
  )
  rows.push([
    'ratio',
    'with / without',
    null,
    ratios.p50,
    ratios.p90,
    ratios.p99,
    ratios.max,
    ratios.allReady,
    null,
  ])
  return { text: formatTable(head, rows), medians: agg, ratios }
}

function stageTable(rounds) {
  const withRounds = rounds.filter(r => r.claims)
  const head = ['driver stage (with-claim rounds)', 'ops', 'mean ms', '~P50 ms', '~P99 ms']
  const stages = STAGES.map(({ stage }) => {
    const h = withRounds.map(r => r.stages[stage]).reduce(add, EMPTY)
    const ms = v => (v === null ? null : round(v * 1000))
    return {
      stage,
      ops: h.count,
      meanMs: ms(mean(h)),
      p50Ms: ms(quantile(h, 0.5)),
      p99Ms: ms(quantile(h, 0.99)),
    }
  })
  const text = formatTable(
    head,
    stages.map(x => [x.stage, x.ops, x.meanMs, x.p50Ms, x.p99Ms]),
  )
  return { text, stages }
}

/** One round for the JSON report: seconds, the Ready summary and each stage's count and mean. */
function roundJson(r) {
  const ready = summarize(r.readyMs)
  return {
    pair: r.pair + 1,
    claims: r.claims,
    pods: r.pods,
    readySeconds: { p50: s(ready.p50), p90: s(ready.p90), p99: s(ready.p99), max: s(ready.max) },
    allReadySeconds: s(r.allReadyMs),
    claimStatusSeconds: r.claimStatusMs === null ? null : s(r.claimStatusMs),
    claimStatusOk: r.claimStatusOk,
    preparedClaimsAtPeak: r.preparedClaimsAtPeak,
    preparedClaimsAfter: r.preparedClaimsAfter,
    pluginRssMiBAtPeak: r.pluginRssMiBAtPeak,
    stages: Object.fromEntries(
      Object.entries(r.stages).map(([k, h]) => {
        const m = mean(h)
        return [k, { ops: h.count, meanMs: m === null ? null : round(m * 1000) }]
      }),
    ),
  }
}

/** The profile the plugin wrote since `since` (ms epoch), copied to bench-results/; or null. */
async function collectProfile(since) {
  const found = await waitFor(
    `a CPU profile in ${CPU_PROF_DIR}`,
    MINUTE,
    async () => {
      const files = readdirSync(CPU_PROF_DIR, { withFileTypes: true })
        .filter(e => e.isFile() && e.name.endsWith('.cpuprofile'))
        .map(e => join(CPU_PROF_DIR, e.name))
        .filter(f => statSync(f).mtimeMs >= since)
      return files.length > 0 ? files.sort().at(-1) : undefined
    },
    1000,
  ).catch(err => {
    log(err.message)
    return null
  })
  if (found === null) return null
  const dest = join(
    ROOT,
    'bench-results',
    `pods-plugin-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
  )
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true })
  copyFileSync(found, dest)
  rmSync(found)
  return dest
}

let installed = false
let exitCode = 0
const started = Date.now()
try {
  if (opts.cpuProf) mkdirSync(CPU_PROF_DIR, { recursive: true })
  log(`${opts.rounds} round pair(s) of ${opts.pods} pods; Kubernetes ${PLATFORM.k8s}`)
  installed = await setup()
  const rounds = []
  for (let pair = 0; pair < opts.rounds; pair++) {
    // Alternate the order so drift in machine load favours neither side.
    const order = pair % 2 === 0 ? [false, true] : [true, false]
    for (const withClaims of order) {
      log(`pair ${pair + 1}: scaling ${withClaims ? 'with' : 'without'} claims 0 → ${opts.pods}`)
      const r = await runRound(pair, withClaims)
      log(`  all Ready after ${s(r.allReadyMs)} s`)
      rounds.push(r)
    }
  }
  const pods = podTable(rounds)
  const stages = stageTable(rounds)
  const peakRss = pluginPeakRssMiB()
  const lost = rounds.filter(
    r => r.claims && (r.claimStatusOk !== r.pods || r.preparedClaimsAfter !== 0),
  )
  const summary = {
    scenario: 'pods',
    date: new Date().toISOString(),
    kubernetes: PLATFORM.k8s,
    containerd: PLATFORM.containerd,
    pods: opts.pods,
    roundPairs: opts.rounds,
    podReadySeconds: {
      medians: Object.fromEntries(
        Object.entries(pods.medians).map(([k, v]) => [
          k,
          Object.fromEntries(Object.entries(v).map(([m, x]) => [m, s(x)])),
        ]),
      ),
      ratiosWithOverWithout: pods.ratios,
    },
    driverStages: stages.stages,
    pluginPeakRssMiB: peakRss,
    claimsLost: lost.length,
    rounds: rounds.map(roundJson),
  }
  console.log(`\n== pod Ready latency, ${opts.pods} pods, from the scale-up call ==`)
  console.log(pods.text)
  console.log(`\n== driver stages (from /metrics; ~P50/~P99 estimated from histogram buckets) ==`)
  console.log(stages.text)
  console.log(
    `\nplugin peak RSS (VmHWM): ${peakRss ?? '?'} MiB; claim rounds with a status missing or a claim left prepared: ${lost.length}`,
  )
  const json = JSON.stringify(summary, null, 2)
  console.log(`\n${json}`)
  const outDir = join(ROOT, 'bench-results')
  mkdirSync(outDir, { recursive: true })
  const outFile = join(outDir, `pods-${summary.date.replace(/[:.]/g, '-')}.json`)
  writeFileSync(outFile, `${json}\n`)
  log(`wrote ${outFile}`)
  if (lost.length > 0) exitCode = 1
} catch (err) {
  exitCode = 1
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
} finally {
  await cleanup(installed)
}
if (opts.cpuProf) {
  const profile = await collectProfile(started)
  if (profile === null) exitCode = 1
  else {
    log(`plugin CPU profile: ${profile}`)
    printProfile(profile, '/app/dist/src/')
  }
}
process.exitCode = exitCode
