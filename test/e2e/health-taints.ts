// End to end (issue 10, Kubernetes 1.36+): device health in pod status (KEP-4680) and taints on
// broken host links (KEP-5055), with the manifests users apply (examples/link-health.yaml,
// examples/link-taint.yaml) and the chart installed as in demos.ts. Health: the parent link of the
// pod's macvlan going down makes the pod's allocatedResourcesStatus Unhealthy within 10 s, up again
// Healthy within 10 s, and deleting net1 inside the pod is reported Unhealthy. Taint: a published
// host link going down carries network-dra.dev/link-down:NoSchedule in its ResourceSlice within
// 10 s, a claim for it stays unallocated with the scheduler's reason, and after the link is up the
// taint is gone and the claim is allocated and the pod runs. Cleanup and diagnostics are
// registered before anything is created.
import t from 'tap'
import {
  REPO,
  clusterLogs,
  createVeth,
  deleteLink,
  helm,
  kubectl,
  kubectlJson,
  sh,
  waitFor,
  type KEvent,
  type KList,
  type KMeta,
} from './lib/cluster.js'
import { PLATFORM } from '../lib/platform.js'

const DRIVER = 'network-dra.dev'
const RELEASE = 'ndra-e2e'
const SYSTEM_NS = 'network-dra-system'
const NS = 'network-dra-demo'
const EX = `${REPO}examples`
const MINUTE = 60_000
/** The acceptance bound for health and taint changes, plus the test's 1 s polling. */
const BOUND_MS = 11_000
const TAINTED_LINK = 'ndra-hostif1'

interface KHealthPod extends KMeta {
  readonly status?: {
    readonly phase?: string
    readonly containerStatuses?: readonly {
      readonly allocatedResourcesStatus?: readonly {
        readonly name: string
        readonly resources?: readonly { readonly resourceID: string; readonly health?: string }[]
      }[]
    }[]
  }
}
interface KTaintSlice extends KMeta {
  readonly spec: {
    readonly devices?: readonly {
      readonly name: string
      readonly taints?: readonly { key: string; value?: string; effect: string }[]
    }[]
  }
}
interface KAllocClaim extends KMeta {
  readonly status?: { readonly allocation?: object }
}

const skip = PLATFORM.minor < 36 ? `${PLATFORM.k8s}: health and taints are on from 1.36` : false

/** Health of the pod's `claim:net` resources (undefined while the kubelet reports none). */
async function claimHealth(pod: string): Promise<string | undefined> {
  const p = await kubectlJson<KHealthPod>(['get', 'pod', '-n', NS, pod])
  const entry = p.status?.containerStatuses?.[0]?.allocatedResourcesStatus?.find(
    s => s.name === 'claim:net',
  )
  return entry?.resources?.[0]?.health
}

async function linkTaints(node: string): Promise<string[] | undefined> {
  const slices = await kubectlJson<KList<KTaintSlice>>([
    'get',
    'resourceslices',
    '--field-selector',
    `spec.nodeName=${node},spec.driver=${DRIVER}`,
  ])
  const dev = slices.items
    .flatMap(s => s.spec.devices ?? [])
    .find(d => d.name === `host-${TAINTED_LINK}`)
  if (dev === undefined) return undefined
  return (dev.taints ?? []).map(x => `${x.key}=${x.value ?? ''}:${x.effect}`)
}

/** Waits for `fn` to return true; resolves with the ms it took. */
async function within(what: string, ms: number, fn: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now()
  await waitFor(what, ms, async () => ((await fn()) ? true : undefined))
  return Date.now() - t0
}

t.before(async () => {
  if (skip) return
  await createVeth('ndra-demo0')
  await createVeth(TAINTED_LINK)
})

t.teardown(async () => {
  if (skip) return
  await kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=120s']).catch(() => undefined)
  await helm(['uninstall', RELEASE, '-n', SYSTEM_NS, '--wait', '--timeout', '2m']).catch(
    () => undefined,
  )
  await kubectl(['delete', 'namespace', SYSTEM_NS, '--wait=true', '--timeout=60s']).catch(
    () => undefined,
  )
  await deleteLink('ndra-demo0')
  await deleteLink(TAINTED_LINK)
})

t.afterEach(async t => {
  if (t.passing()) return
  const plugin = await kubectl([
    'logs',
    '-n',
    SYSTEM_NS,
    '-l',
    'app.kubernetes.io/name=network-dra',
    '--tail=80',
    '--all-containers',
  ]).catch((e: unknown) => String(e))
  t.comment(`plugin logs:\n${plugin}\n\ncluster logs:\n${await clusterLogs()}`)
})

let node = ''

t.test('install', { skip }, async () => {
  await helm([
    'upgrade',
    '--install',
    RELEASE,
    `${REPO}charts/network-dra`,
    '-n',
    SYSTEM_NS,
    '--create-namespace',
    '-f',
    `${REPO}test/e2e/values.yaml`,
    '-f',
    `${EX}/values-demo.yaml`,
    '--wait',
    '--timeout',
    '5m',
  ])
  await kubectl(['create', 'namespace', NS])
  node = (await kubectlJson<KList<KMeta>>(['get', 'nodes'])).items[0]?.metadata.name ?? ''
  await waitFor(`host-${TAINTED_LINK} published without taints`, 2 * MINUTE, async () => {
    const taints = await linkTaints(node)
    return taints !== undefined && taints.length === 0 ? true : undefined
  })
})

t.test('health: parent link down/up, interface deleted in the pod', { skip }, async t => {
  await kubectl(['apply', '-n', NS, '-f', `${EX}/link-health.yaml`])
  await waitFor('link-health Running and Healthy', 3 * MINUTE, async () =>
    (await claimHealth('link-health')) === 'Healthy' ? true : undefined,
  )
  const timings: Record<string, number> = {}
  await sh('ip', ['link', 'set', 'ndra-demo0', 'down'])
  timings.parentDown = await within(
    'Unhealthy after the parent link went down',
    BOUND_MS,
    async () => (await claimHealth('link-health')) === 'Unhealthy',
  )
  await sh('ip', ['link', 'set', 'ndra-demo0', 'up'])
  timings.parentUp = await within(
    'Healthy after the parent link came up',
    BOUND_MS,
    async () => (await claimHealth('link-health')) === 'Healthy',
  )
  await kubectl(['exec', '-n', NS, 'link-health', '--', 'ip', 'link', 'del', 'net1'])
  timings.interfaceDeleted = await within(
    'Unhealthy after net1 was deleted in the pod',
    MINUTE,
    async () => (await claimHealth('link-health')) === 'Unhealthy',
  )
  t.comment(`health report latency ms: ${JSON.stringify(timings)}`)
  t.pass('health followed the links')
  await kubectl(['delete', '-n', NS, '-f', `${EX}/link-health.yaml`, '--wait=true'])
})

t.test('taint: a down host link is not allocated until it is up', { skip }, async t => {
  await sh('ip', ['link', 'set', TAINTED_LINK, 'down'])
  const taintMs = await within('link-down taint in the slice', BOUND_MS, async () =>
    ((await linkTaints(node)) ?? []).includes(`${DRIVER}/link-down=down:NoSchedule`),
  )
  await kubectl(['apply', '-n', NS, '-f', `${EX}/link-taint.yaml`])
  const reason = await waitFor('FailedScheduling for the tainted device', 2 * MINUTE, async () => {
    const ev = await kubectlJson<KList<KEvent>>([
      'get',
      'events',
      '-n',
      NS,
      '--field-selector',
      'involvedObject.name=link-taint',
    ])
    return ev.items.find(e => e.reason === 'FailedScheduling')?.message
  })
  t.comment(`scheduler: ${reason}`)
  const claim = await kubectlJson<KAllocClaim>(['get', 'resourceclaim', '-n', NS, 'link-taint'])
  t.equal(claim.status?.allocation, undefined, 'claim not allocated while tainted')
  await sh('ip', ['link', 'set', TAINTED_LINK, 'up'])
  const untaintMs = await within('taint gone', BOUND_MS, async () => {
    const taints = await linkTaints(node)
    return taints !== undefined && taints.length === 0
  })
  await waitFor('link-taint Running', 3 * MINUTE, async () => {
    const p = await kubectlJson<KHealthPod>(['get', 'pod', '-n', NS, 'link-taint'])
    return p.status?.phase === 'Running' ? true : undefined
  })
  t.comment(`taint latency ms: down ${String(taintMs)}, up ${String(untaintMs)}`)
  t.pass('allocated after the link came up')
})
