// End to end (issue 10, Kubernetes 1.36+): device health in pod status (KEP-4680), taints on
// broken host links (KEP-5055), a prioritized list (firstAvailable) and device metadata in the
// container (KEP-5304), with the manifests users apply (examples/link-health.yaml,
// examples/link-taint.yaml, examples/prioritized-metadata.yaml) and the chart installed as in
// demos.ts. Health: the parent link of the pod's macvlan going down makes the pod's
// allocatedResourcesStatus Unhealthy within 10 s, up again Healthy within 10 s, and deleting net1
// inside the pod is reported Unhealthy. Taint: a published host link going down carries
// network-dra.dev/link-down:NoSchedule in its ResourceSlice within 10 s, a claim for it stays
// unallocated with the scheduler's reason, and after the link is up the taint is gone and the
// claim is allocated and the pod runs. Prioritized list: the allocator picks `nic/slot` (no host
// link ndra-fast0), the class config arrives for `nic/slot`, the claim's `nic` and `nic/slot`
// entries apply (the allocator leaves out the `nic/fast` one) and no `fast0` appears. Metadata: for that pod's two interfaces, the
// files read with `kubectl exec … cat` hold the addresses, names and MACs of the claim status.
// Every latency is printed. Cleanup and diagnostics are registered before anything is created.
import t from 'tap'
import { firstStreamObject } from '../../src/metadata/device-metadata.js'
import {
  createVeth,
  deleteLink,
  failureDiagnostics,
  helm,
  kubectl,
  kubectlJson,
  podAddr,
  removeInstall,
  sh,
  waitFor,
  type KEvent,
  type KList,
  type KMeta,
  chartInstallArgs,
  EXAMPLES,
} from './lib/cluster.js'
import { PLATFORM } from '../lib/platform.js'

const DRIVER = 'network-dra.dev'
const RELEASE = 'ndra-e2e'
const NS = 'network-dra-demo'
const EX = EXAMPLES
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
interface KNetworkData {
  readonly interfaceName?: string
  readonly ips?: readonly string[]
  readonly hardwareAddress?: string
}
interface KDraClaim extends KMeta {
  readonly status?: {
    readonly allocation?: {
      readonly devices?: {
        readonly results?: readonly { request: string; pool: string; device: string }[]
        readonly config?: readonly {
          readonly source: string
          readonly requests?: readonly string[]
          readonly opaque?: {
            readonly driver: string
            readonly parameters?: { readonly network?: { readonly name?: string } }
          }
        }[]
      }
    }
    readonly devices?: readonly {
      readonly driver: string
      readonly pool: string
      readonly device: string
      readonly networkData?: KNetworkData
    }[]
  }
}
interface KClaimPod extends KMeta {
  readonly status?: {
    readonly phase?: string
    readonly resourceClaimStatuses?: readonly { name: string; resourceClaimName?: string }[]
  }
}
/** The first (newest-version) object of a KEP-5304 metadata file. */
interface KDeviceMetadata {
  readonly apiVersion?: string
  readonly podClaimName?: string
  readonly requests?: readonly {
    readonly name: string
    readonly devices?: readonly { name: string; networkData?: KNetworkData }[]
  }[]
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

/** The metadata file of request `request` of pod claim `net` (a template claim), in the container. */
const metadataPath = (request: string): string =>
  `/var/run/kubernetes.io/dra-device-attributes/resourceclaimtemplates/net/${request}/${DRIVER}-metadata.json`

/** Milliseconds as seconds with one decimal, for the printed latencies. */
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

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
  await removeInstall(RELEASE, [NS])
  await deleteLink('ndra-demo0')
  await deleteLink(TAINTED_LINK)
})

t.afterEach(async t => {
  if (!t.passing()) t.comment(await failureDiagnostics())
})

let node = ''

t.test('install', { skip }, async () => {
  await helm(chartInstallArgs(RELEASE, [`${EXAMPLES}/values-demo.yaml`]))
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
  t.comment(
    `health latency: parent down → Unhealthy ${secs(timings.parentDown)}, up → Healthy ` +
      `${secs(timings.parentUp)}, net1 deleted → Unhealthy ${secs(timings.interfaceDeleted)}`,
  )
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
  t.comment(`taint latency: link down → taint ${secs(taintMs)}, up → taint gone ${secs(untaintMs)}`)
  t.pass('allocated after the link came up')
})

t.test('prioritized list and device metadata: a pod with two interfaces', { skip }, async t => {
  const t0 = Date.now()
  await kubectl(['apply', '-n', NS, '-f', `${EX}/prioritized-metadata.yaml`])
  const pod = await waitFor('demo-pl Running', 3 * MINUTE, async () => {
    const p = await kubectlJson<KClaimPod>(['get', 'pod', '-n', NS, 'demo-pl'])
    return p.status?.phase === 'Running' ? p : undefined
  })
  const runningMs = Date.now() - t0
  const claimName = pod.status?.resourceClaimStatuses?.find(
    s => s.name === 'net',
  )?.resourceClaimName
  t.ok(claimName, 'the pod names its generated claim')
  const claim = await waitFor('claim status with both devices', MINUTE, async () => {
    const c = await kubectlJson<KDraClaim>(['get', 'resourceclaim', '-n', NS, claimName ?? ''])
    const devs = c.status?.devices ?? []
    return devs.length === 2 && devs.every(d => (d.networkData?.ips ?? []).length > 0)
      ? c
      : undefined
  })
  const statusMs = Date.now() - t0

  // Prioritized list: the allocator chose the slot (no host link ndra-fast0 is published); the
  // class config carries `nic/slot`, the claim's entries keep the names written in the claim.
  const alloc = claim.status?.allocation?.devices
  const results = alloc?.results ?? []
  t.same(results.map(r => r.request).sort(), ['extra', 'nic/slot'], 'allocated alternatives')
  const ours = (alloc?.config ?? []).filter(c => c.opaque?.driver === DRIVER)
  t.same(
    ours.filter(c => c.source === 'FromClass').map(c => [...(c.requests ?? [])]),
    [['nic/slot']],
    'class config addressed to the chosen subrequest',
  )
  t.equal(
    ours.find(c => c.source === 'FromClass')?.opaque?.parameters?.network?.name,
    'demo-ips',
    'the class config is the admin network demo-ips',
  )
  // The allocator copies the claim's entries with the names written in the claim, leaving out the
  // one that names only the alternative it did not choose (`nic/fast`).
  t.same(
    ours.filter(c => c.source === 'FromClaim').map(c => (c.requests ?? []).join()),
    ['nic', 'nic/slot', 'extra'],
    'claim config as written, for the chosen alternative',
  )
  // What the merged config did in the pod: the class network's subnet with the address of the
  // `nic/slot` entry, on the interface name of the `nic` entry; no `fast0` from the `nic/fast` entry.
  const net1 = await podAddr(NS, 'demo-pl', 'net1')
  t.equal(net1, '10.10.6.30/24', 'net1: demo-ips network (class) + nic name + nic/slot ips')
  const net2 = await podAddr(NS, 'demo-pl', 'net2')
  t.match(net2, /^10\.10\.8\.\d+\/24$/, 'net2: the network of the extra request')
  const fast0 = await kubectl(['exec', '-n', NS, 'demo-pl', '--', 'ip', 'link', 'show', 'fast0'])
    .then(() => 'present')
    .catch((e: unknown) => {
      t.comment(
        `ip link show fast0: ${e instanceof Error ? e.message.split('\n').slice(-2).join(' ') : String(e)}`,
      )
      return 'absent'
    })
  t.equal(fast0, 'absent', 'the nic/fast entry was not applied')

  // The README's views of the claim, printed as they are.
  for (const path of [
    '{range .status.allocation.devices.config[*]}{.source}{" "}{.requests}{"\\n"}{end}',
    '{range .status.devices[*]}{.device}{" "}{.networkData}{"\\n"}{end}',
  ]) {
    t.comment(
      await kubectl(['get', 'resourceclaim', '-n', NS, claimName ?? '', '-o', `jsonpath=${path}`]),
    )
  }
  // Device metadata: each request's file, read in the container, says what the claim status says.
  const fileStart = Date.now()
  const seen: Record<string, KNetworkData | undefined> = {}
  for (const [request, ref] of [
    ['nic', 'nic/slot'],
    ['extra', 'extra'],
  ] as const) {
    const text = await kubectl(['exec', '-n', NS, 'demo-pl', '--', 'cat', metadataPath(request)])
    const md = firstStreamObject(text) as KDeviceMetadata | undefined
    t.equal(md?.apiVersion, 'metadata.resource.k8s.io/v1beta1', `${request}: newest version first`)
    t.equal(md?.podClaimName, 'net', `${request}: pod claim name`)
    t.same(
      md?.requests?.map(r => r.name),
      [ref],
      `${request}: requests[].name is the allocated (sub)request`,
    )
    const dev = md?.requests?.[0]?.devices?.[0]
    t.equal(dev?.name, results.find(r => r.request === ref)?.device, `${request}: the device`)
    const status = claim.status?.devices?.find(d => d.device === dev?.name)?.networkData
    t.ok(status, `${request}: the claim status has the device`)
    t.same(dev?.networkData, status, `${request}: file and claim status agree`)
    seen[request] = dev?.networkData
  }
  t.same(seen['nic']?.ips, [net1], 'the file has the address net1 has')
  t.same(seen['extra']?.ips, [net2], 'the file has the address net2 has')
  t.equal(seen['nic']?.interfaceName, 'net1')
  t.equal(seen['extra']?.interfaceName, 'net2')
  t.comment(
    `prioritized-metadata: Running after ${secs(runningMs)}, claim status complete after ` +
      `${secs(statusMs)}, both files read in ${secs(Date.now() - fileStart)}; ` +
      `net1 ${net1}, net2 ${net2}`,
  )
  await kubectl(['delete', '-n', NS, '-f', `${EX}/prioritized-metadata.yaml`, '--wait=true'])
})
