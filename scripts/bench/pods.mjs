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
/** A profile at least this large is the daemon's, not an exec probe's (see collectProfile). */
const DAEMON_PROFILE_MIN_BYTES = 1024 * 1024

/** Driver stages read from /metrics: histogram name and the labels that select the stage. */
const STAGES = [
  {
    stage: 'prepare RPC',
    name: 'network_dra_rpc_duration_seconds',
    match: { service: 'dra', method: 'NodePrepareResources' },
  },
  ...['refresh', 'claim_read', 'plan', 'record', 'cdi_spec'].map(phase => ({
    stage: `prepare: ${phase}`,
    name: 'network_dra_prepare_step_duration_seconds',
    match: { phase },
  })),
  { stage: 'attach (hook → reply)', name: 'network_dra_attach_duration_seconds', match: {} },
  ...['lock', 'refresh', 'resolve', 'cni_add', 'record', 'metadata'].map(step => ({
    stage: `attach: ${step}`,
    name: 'network_dra_attach_step_duration_seconds',
    match: { step },
  })),
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

/**
 * The platform's side of the same window, from each component's own /metrics (read before and after
 * each round like the driver's): what the kubelet measures around the driver's prepare, what the API
 * server takes for the request kinds the driver sends (all clients' requests of that kind, the
 * kubelet's included), the API Priority and Fairness queue of the driver's requests (a service
 * account outside kube-system: flow schema `service-accounts`, level `workload-low`) beside the
 * kubelet's (`system`). `filter` narrows a label beyond equality. The disk: see startFsyncProbe.
 */
const PLATFORM_STAGES = [
  {
    stage: 'kubelet: prepare, all claims of a pod',
    source: 'kubelet',
    name: 'dra_operations_duration_seconds',
    match: { operation_name: 'PrepareResources', is_error: 'false' },
  },
  {
    stage: 'kubelet: NodePrepareResources gRPC',
    source: 'kubelet',
    name: 'dra_grpc_operations_duration_seconds',
    match: { driver_name: DRIVER, grpc_status_code: 'OK' },
    filter: labels => (labels.method_name ?? '').endsWith('/NodePrepareResources'),
  },
  ...[
    ['GET resourceclaims', { verb: 'GET', resource: 'resourceclaims', subresource: '' }],
    ['GET pods', { verb: 'GET', resource: 'pods', subresource: '' }],
    ['LIST pods', { verb: 'LIST', resource: 'pods', subresource: '' }],
    [
      'APPLY resourceclaims/status',
      { verb: 'APPLY', resource: 'resourceclaims', subresource: 'status' },
    ],
    [
      'PATCH resourceclaims/status',
      { verb: 'PATCH', resource: 'resourceclaims', subresource: 'status' },
    ],
  ].map(([what, match]) => ({
    stage: `API server: ${what}`,
    source: 'apiserver',
    name: 'apiserver_request_duration_seconds',
    match,
  })),
  ...[
    ['workload-low', 'driver'],
    ['system', 'kubelet'],
  ].map(([level, who]) => ({
    stage: `API server: APF queue wait, ${level} (${who})`,
    source: 'apiserver',
    name: 'apiserver_flowcontrol_request_wait_duration_seconds',
    match: { priority_level: level, execute: 'true' },
  })),
]
/**
 * The node's disk as any writer sees it during a scale-up: a separate process writes 4 KiB and
 * fsyncs it, then fsyncs the directory (what one atomic state-file replace costs in syncs), every
 * FSYNC_PROBE_EVERY_MS, in the plugin's state filesystem (etcd of the local cluster runs with
 * --unsafe-no-fsync, so its own metrics say nothing about the disk).
 */
const FSYNC_PROBE_DIR = '/var/lib'
const FSYNC_PROBE_EVERY_MS = 200

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

/** The cluster's one node (its kubelet's /metrics are read through the API server's proxy). */
let nodeName

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
  nodeName = node
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

/** Sources already reported unreadable (told once, then counted as empty). */
const unreadable = new Set()

/** Every platform source's samples; a source that cannot be read is empty (and said so once). */
async function scrapePlatform() {
  const sources = {
    apiserver: () => kubectl(['get', '--raw', '/metrics']),
    kubelet: () => kubectl(['get', '--raw', `/api/v1/nodes/${nodeName}/proxy/metrics`]),
  }
  const out = {}
  for (const [source, read] of Object.entries(sources)) {
    try {
      out[source] = parseSamples(await read())
    } catch (err) {
      if (!unreadable.has(source)) log(`platform metrics of ${source} not read: ${err.message}`)
      unreadable.add(source)
      out[source] = []
    }
  }
  return out
}

/** One platform stage's histogram in `scraped` (the stage's extra label filter applied). */
function platformHistogram(scraped, st) {
  const samples = scraped[st.source] ?? []
  const picked = st.filter
    ? samples.filter(x => !x.name.startsWith(st.name) || st.filter(x.labels))
    : samples
  return histogram(picked, st.name, st.match)
}

/** The sum of a counter's series whose labels include `match`. */
function counter(samples, name, match) {
  return samples
    .filter(x => x.name === name && Object.entries(match).every(([k, v]) => x.labels[k] === v))
    .reduce((sum, x) => sum + x.value, 0)
}

/**
 * Start the disk probe (FSYNC_PROBE_*) in a child process; `stop()` ends it and resolves to the
 * milliseconds each write + fsync + directory fsync took.
 */
function startFsyncProbe() {
  const file = join(FSYNC_PROBE_DIR, `.ndra-bench-fsync-${process.pid}`)
  const script = `
    const fs = require('node:fs')
    const block = Buffer.alloc(4096, 1)
    const dir = fs.openSync(${JSON.stringify(FSYNC_PROBE_DIR)}, 'r')
    const tick = () => {
      const t0 = performance.now()
      const fd = fs.openSync(${JSON.stringify(file)}, 'w', 0o600)
      fs.writeSync(fd, block)
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      fs.fsyncSync(dir)
      process.stdout.write((performance.now() - t0).toFixed(2) + '\\n')
    }
    setInterval(tick, ${FSYNC_PROBE_EVERY_MS})
    process.on('SIGTERM', () => { fs.rmSync(${JSON.stringify(file)}, { force: true }); process.exit(0) })
  `
  const child = execa(process.execPath, ['-e', script], { reject: false })
  return {
    stop: async () => {
      child.kill('SIGTERM')
      const r = await child
      return String(r.stdout ?? '')
        .split('\n')
        .filter(Boolean)
        .map(Number)
    },
  }
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

/**
 * The pods (of `uids`) whose kubelet met the node authorizer's graph lag: its first read of the
 * claim was refused ("no relationship found between node …") because the API server had not yet
 * linked the just-bound pod to it, so the pod waited for the kubelet's back-off (README, Known
 * limitations). Taken from the pods' FailedPrepareDynamicResources events.
 */
async function authorizerRaced(uids) {
  const events = await core.listNamespacedEvent({
    namespace: NS,
    fieldSelector: 'reason=FailedPrepareDynamicResources',
  })
  return new Set(
    events.items
      .filter(e => /no relationship found between node/.test(e.message ?? ''))
      .map(e => e.involvedObject?.uid)
      .filter(uid => uids.has(uid)),
  )
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
  const platformBefore = await scrapePlatform()
  const cpuBefore = cpuSnapshot()
  const fsyncProbe = startFsyncProbe()
  let fsyncMs = []
  const ready = new Map()
  // When the watch first showed the pod bound to the node (spec.nodeName): the control plane's
  // part (ReplicaSet, claim from its template, scheduling with allocation) ends there, the node's
  // (kubelet, the driver's prepare and hook, the runtime) begins.
  const bound = new Map()
  let t0 = 0
  const watch = await watchPods(deployment, pod => {
    const uid = pod?.metadata?.uid
    if (t0 === 0 || !uid) return
    if (pod.spec?.nodeName && !bound.has(uid)) bound.set(uid, performance.now() - t0)
    if (ready.has(uid) || !isReady(pod)) return
    ready.set(uid, performance.now() - t0)
  })
  let readyMs
  let allReadyMs
  let boundMs
  let onNodeMs
  let raced
  let readyNoRaceMs
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
    raced = withClaims ? await authorizerRaced(new Set(ready.keys())) : new Set()
    readyNoRaceMs = [...ready.entries()].filter(([uid]) => !raced.has(uid)).map(([, at]) => at)
    boundMs = [...ready.keys()].map(uid => bound.get(uid) ?? ready.get(uid))
    onNodeMs = [...ready.entries()].map(([uid, at]) => at - (bound.get(uid) ?? at))
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
    await fsyncProbe.stop()
    await diagnostics()
    throw err
  } finally {
    watch.stop()
  }
  fsyncMs = await fsyncProbe.stop()
  const atPeak = await scrape()
  const cpuAtPeak = cpuSnapshot()
  const upSeconds = (performance.now() - t0) / 1000
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
  const platformAfter = await scrapePlatform()
  const platform = Object.fromEntries(
    PLATFORM_STAGES.map(st => [
      st.stage,
      subtract(platformHistogram(platformAfter, st), platformHistogram(platformBefore, st)),
    ]),
  )
  const cpu = name => (gauge(atPeak, name) ?? 0) - (gauge(before, name) ?? 0)
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
    boundMs,
    onNodeMs,
    racedPods: raced.size,
    readyNoRaceMs,
    claimStatusMs: statusMs,
    claimStatusOk: statusOk,
    preparedClaimsAtPeak: gauge(atPeak, 'network_dra_prepared_claims'),
    preparedClaimsAfter: gauge(after, 'network_dra_prepared_claims'),
    pluginRssMiBAtPeak: mib(gauge(atPeak, 'network_dra_process_resident_memory_bytes')),
    // The plugin's own share of the scale-up: CPU seconds over wall seconds, and how late its event
    // loop ran (prom-client resets the loop-delay histogram at every read, so the read at the peak
    // covers exactly the scale-up).
    plugin: {
      scaleUpSeconds: round(upSeconds, 1),
      cpuSeconds: round(cpu('network_dra_process_cpu_seconds_total'), 2),
      cpuShare: round(cpu('network_dra_process_cpu_seconds_total') / upSeconds, 3),
      // Same process in both snapshots (a restarted plugin would make the difference meaningless).
      runQueueWaitSeconds:
        cpuBefore.pid !== null && cpuBefore.pid === cpuAtPeak.pid
          ? round((cpuAtPeak.waitNs - cpuBefore.waitNs) / 1e9, 2)
          : null,
      machineCpuBusy: round(
        (cpuAtPeak.busy - cpuBefore.busy) / Math.max(1, cpuAtPeak.total - cpuBefore.total),
        3,
      ),
      eventLoopDelayP99Ms: ms(gauge(atPeak, 'network_dra_nodejs_eventloop_lag_p99_seconds')),
      eventLoopDelayMaxMs: ms(gauge(atPeak, 'network_dra_nodejs_eventloop_lag_max_seconds')),
      // Pods of the unreferenced-claim check answered by the API server's watch cache / by etcd.
      podReads: Object.fromEntries(
        ['cache', 'quorum'].map(source => [
          source,
          counter(after, 'network_dra_pod_reads_total', { source }) -
            counter(before, 'network_dra_pod_reads_total', { source }),
        ]),
      ),
    },
    stages,
    platform,
    fsyncMs,
  }
}

function ms(seconds) {
  return seconds === null ? null : round(seconds * 1000, 1)
}

function mib(bytes) {
  return bytes === null ? null : round(bytes / 1024 / 1024)
}

/** The pid of the plugin daemon, found by its entrypoint; null when not found. */
function pluginPid() {
  for (const pid of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (cmd.includes('/app/dist/src/main.js')) return pid
    } catch {
      // the process exited meanwhile
    }
  }
  return null
}

/** Peak RSS (VmHWM) of the plugin daemon; null when not found. */
function pluginPeakRssMiB() {
  const pid = pluginPid()
  try {
    const m = pid && /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? round(Number(m[1]) / 1024) : null
  } catch {
    return null
  }
}

/**
 * CPU facts for one window: the plugin's threads' time on a CPU and time runnable but waiting for
 * one (`/proc/<pid>/task/<tid>/schedstat`, nanoseconds), and the machine's busy and total jiffies
 * (`/proc/stat`). Waiting time is the platform's share of the plugin's latency: ready to run, not
 * running, because the two cores are busy with everything else.
 */
function cpuSnapshot() {
  const fields = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
  let onCpuNs = 0
  let waitNs = 0
  const pid = pluginPid()
  if (pid !== null) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')
        onCpuNs += Number(run)
        waitNs += Number(wait)
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return { pid, onCpuNs, waitNs, busy: total - idle, total }
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
    'raced pods',
    'P50/P99 s w/o race',
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
      r.claims ? r.racedPods : null,
      r.claims ? noRace(r) : null,
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
      null,
      null,
    ])
  }
  // The with-claim pods whose kubelet did not meet the node authorizer's race, against all pods
  // of the rounds without claims (which cannot meet it).
  const clean = rounds
    .filter(r => r.claims && r.readyNoRaceMs.length > 0)
    .map(r => summarize(r.readyNoRaceMs))
  const withoutRace =
    clean.length === 0
      ? {}
      : {
          p50WithoutRace: ratio(median(clean.map(x => x.p50)), agg.without.p50),
          p99WithoutRace: ratio(median(clean.map(x => x.p99)), agg.without.p99),
        }
  const ratios = {
    ...Object.fromEntries(Object.keys(agg.with).map(k => [k, ratio(agg.with[k], agg.without[k])])),
    ...withoutRace,
  }
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
    null,
    `${ratios.p50WithoutRace}/${ratios.p99WithoutRace}`,
  ])
  return { text: formatTable(head, rows), medians: agg, ratios }
}

/**
 * Where a pod's time went, per round and as with/without ratios of the medians: scale call → bound
 * to the node (control plane) and bound → Ready (the node: kubelet, driver, runtime).
 */
function phaseTable(rounds) {
  const head = ['round', 'claims', 'bound P50 s', 'bound P99 s', 'on node P50 s', 'on node P99 s']
  const row = r => {
    const b = summarize(r.boundMs)
    const n = summarize(r.onNodeMs)
    return { p50Bound: b.p50, p99Bound: b.p99, p50OnNode: n.p50, p99OnNode: n.p99 }
  }
  const rows = rounds.map(r => {
    const x = row(r)
    return [
      `pair ${r.pair + 1}`,
      r.claims ? 'with' : 'without',
      s(x.p50Bound),
      s(x.p99Bound),
      s(x.p50OnNode),
      s(x.p99OnNode),
    ]
  })
  const agg = {}
  for (const kind of ['without', 'with']) {
    const xs = rounds.filter(r => (r.claims ? 'with' : 'without') === kind).map(row)
    agg[kind] = Object.fromEntries(
      Object.keys(xs[0] ?? {}).map(k => [k, median(xs.map(x => x[k]))]),
    )
  }
  const ratios = Object.fromEntries(
    Object.keys(agg.with).map(k => [k, ratio(agg.with[k], agg.without[k])]),
  )
  rows.push([
    'ratio',
    'with / without',
    ratios.p50Bound,
    ratios.p99Bound,
    ratios.p50OnNode,
    ratios.p99OnNode,
  ])
  return { text: formatTable(head, rows), medians: agg, ratios }
}

/**
 * One row per stage of `defs` over the with-claim rounds: the stage's histograms (`pick(round)`
 * holds them by stage name) added up, with count, mean and ~P50/~P99 in ms.
 */
function stageRows(rounds, defs, pick) {
  const withRounds = rounds.filter(r => r.claims)
  const ms = v => (v === null ? null : round(v * 1000))
  return defs.map(({ stage }) => {
    const h = withRounds.map(r => pick(r)[stage]).reduce(add, EMPTY)
    return {
      stage,
      ops: h.count,
      meanMs: ms(mean(h)),
      p50Ms: ms(quantile(h, 0.5)),
      p99Ms: ms(quantile(h, 0.99)),
    }
  })
}

/** `rows` (stageRows) as a text table under `title`. */
function stageText(title, rows) {
  return formatTable(
    [title, 'ops', 'mean ms', '~P50 ms', '~P99 ms'],
    rows.map(x => [x.stage, x.ops, x.meanMs, x.p50Ms, x.p99Ms]),
  )
}

function stageTable(rounds) {
  const stages = stageRows(rounds, STAGES, r => r.stages)
  return { text: stageText('driver stage (with-claim rounds)', stages), stages }
}

/** The platform stages of the with-claim rounds (PLATFORM_STAGES), as stageTable. */
function platformTable(rounds) {
  const withRounds = rounds.filter(r => r.claims)
  const stages = stageRows(rounds, PLATFORM_STAGES, r => r.platform)
  const plugin = withRounds.map(r => r.plugin)
  // The disk probe's samples are exact (not bucketed); the rounds without claims are shown too.
  for (const kind of [true, false]) {
    const xs = rounds.filter(r => r.claims === kind).flatMap(r => r.fsyncMs)
    const x = summarize(xs)
    stages.push({
      stage: `disk: write+fsync+dir fsync (probe, ${kind ? 'with' : 'without'})`,
      ops: x.n,
      meanMs: x.n === 0 ? null : round(xs.reduce((a, b) => a + b, 0) / x.n, 1),
      p50Ms: x.n === 0 ? null : round(x.p50, 1),
      p99Ms: x.n === 0 ? null : round(x.p99, 1),
    })
  }
  const text = stageText('platform stage (with-claim rounds)', stages)
  const pluginText = formatTable(
    [
      'with-claim round',
      'scale-up s',
      'machine CPU busy',
      'plugin CPU s',
      'plugin waiting for a CPU s',
      'CPU share',
      'event-loop delay P99 ms',
      'max ms',
      'pod reads cache/quorum',
    ],
    withRounds.map(r => [
      `pair ${r.pair + 1}`,
      r.plugin.scaleUpSeconds,
      r.plugin.machineCpuBusy,
      r.plugin.cpuSeconds,
      r.plugin.runQueueWaitSeconds,
      r.plugin.cpuShare,
      r.plugin.eventLoopDelayP99Ms,
      r.plugin.eventLoopDelayMaxMs,
      `${r.plugin.podReads.cache}/${r.plugin.podReads.quorum}`,
    ]),
  )
  return { text, pluginText, stages, plugin }
}

/** P50/P99 of the pods whose kubelet did not meet the authorizer race, as "P50/P99". */
function noRace(r) {
  if (r.readyNoRaceMs.length === 0) return '-'
  const x = summarize(r.readyNoRaceMs)
  return `${s(x.p50)}/${s(x.p99)}`
}

function secondsSummary(ms) {
  const x = summarize(ms)
  return { p50: s(x.p50), p90: s(x.p90), p99: s(x.p99), max: s(x.max) }
}

/** One round for the JSON report: seconds, the Ready summary and each stage's count and mean. */
function roundJson(r) {
  const ready = summarize(r.readyMs)
  return {
    pair: r.pair + 1,
    claims: r.claims,
    pods: r.pods,
    readySeconds: { p50: s(ready.p50), p90: s(ready.p90), p99: s(ready.p99), max: s(ready.max) },
    racedPods: r.claims ? r.racedPods : null,
    readyWithoutRaceSeconds:
      r.claims && r.readyNoRaceMs.length > 0 ? secondsSummary(r.readyNoRaceMs) : null,
    boundSeconds: secondsSummary(r.boundMs),
    onNodeSeconds: secondsSummary(r.onNodeMs),
    allReadySeconds: s(r.allReadyMs),
    claimStatusSeconds: r.claimStatusMs === null ? null : s(r.claimStatusMs),
    claimStatusOk: r.claimStatusOk,
    preparedClaimsAtPeak: r.preparedClaimsAtPeak,
    preparedClaimsAfter: r.preparedClaimsAfter,
    pluginRssMiBAtPeak: r.pluginRssMiBAtPeak,
    plugin: r.plugin,
    stages: Object.fromEntries(
      Object.entries(r.stages).map(([k, h]) => {
        const m = mean(h)
        return [k, { ops: h.count, meanMs: m === null ? null : round(m * 1000) }]
      }),
    ),
  }
}

/**
 * The profile the plugin daemon wrote since `since` (ms epoch), copied to bench-results/; or null.
 * NODE_OPTIONS reaches the exec probes (`node probe.js`) too, and each writes a small profile (tens
 * of KiB) every probe period; the daemon writes its own (MiBs after a round) when it exits after the
 * uninstall, so this waits for a profile of at least DAEMON_PROFILE_MIN_BYTES and takes the largest.
 * Every profile found is removed.
 */
async function collectProfile(since) {
  const found = await waitFor(
    `a CPU profile in ${CPU_PROF_DIR}`,
    MINUTE,
    async () => {
      const files = readdirSync(CPU_PROF_DIR, { withFileTypes: true })
        .filter(e => e.isFile() && e.name.endsWith('.cpuprofile'))
        .map(e => join(CPU_PROF_DIR, e.name))
        .filter(f => statSync(f).mtimeMs >= since)
      return files.some(f => statSync(f).size >= DAEMON_PROFILE_MIN_BYTES) ? files : undefined
    },
    1000,
  ).catch(err => {
    log(err.message)
    return null
  })
  if (found === null) return null
  const largest = found.reduce((a, b) => (statSync(b).size > statSync(a).size ? b : a))
  const dest = join(
    ROOT,
    'bench-results',
    `pods-plugin-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
  )
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true })
  copyFileSync(largest, dest)
  for (const f of found) rmSync(f)
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
  const phases = phaseTable(rounds)
  const stages = stageTable(rounds)
  const platform = platformTable(rounds)
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
    podPhaseSeconds: {
      medians: Object.fromEntries(
        Object.entries(phases.medians).map(([k, v]) => [
          k,
          Object.fromEntries(Object.entries(v).map(([m, x]) => [m, s(x)])),
        ]),
      ),
      ratiosWithOverWithout: phases.ratios,
    },
    driverStages: stages.stages,
    platformStages: platform.stages,
    pluginDuringScaleUp: platform.plugin,
    pluginPeakRssMiB: peakRss,
    claimsLost: lost.length,
    rounds: rounds.map(roundJson),
  }
  console.log(`\n== pod Ready latency, ${opts.pods} pods, from the scale-up call ==`)
  console.log(pods.text)
  console.log(`\n== where the time went: scale call → bound to the node → Ready ==`)
  console.log(phases.text)
  console.log(`\n== driver stages (from /metrics; ~P50/~P99 estimated from histogram buckets) ==`)
  console.log(stages.text)
  console.log(
    `\n== the platform in the same windows (kubelet and API server /metrics, a disk probe) ==`,
  )
  console.log(platform.text)
  console.log(`\n== the plugin process during each with-claim scale-up ==`)
  console.log(platform.pluginText)
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
