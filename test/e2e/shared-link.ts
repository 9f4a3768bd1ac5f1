// End to end (issue 10, Kubernetes 1.36+): a host link shared by consumable capacity (KEP-5075),
// with the manifest users apply (examples/shared-link.yaml) and the chart installed with the demo
// allowance (examples/values-demo.yaml: plugin.sharedHostLinks ^ndra-shared0$ with capacity 3 and
// the admin network shared-macvlan). The parent is a decoy veth the test creates (never a link of
// the machine). Checks: the link is ONE device with allowMultipleAllocations and capacity 3; of four
// pods, three run with a macvlan child whose parent (iflink) is ndra-shared0 and a claim status entry
// carrying the allocation's shareID (kernel iflink = the parent's ifindex); the fourth stays Pending with the scheduler's reason
// (FailedScheduling "cannot allocate all claims") and its claim unallocated; after one of the three
// is deleted, the fourth runs. Prints the measured seconds. Cleanup and diagnostics are registered
// before anything is created.
import t from 'tap'
import {
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
  type KPod,
  chartInstallArgs,
  EXAMPLES,
} from './lib/cluster.js'
import { PLATFORM } from '../lib/platform.js'

const DRIVER = 'network-dra.dev'
const RELEASE = 'ndra-e2e'
const SYSTEM_NS = 'network-dra-system'
const NS = 'network-dra-demo'
const EX = EXAMPLES
const MINUTE = 60_000
const LINK = 'ndra-shared0'
const DEVICE = `host-${LINK}`
const PODS = ['shared-link-1', 'shared-link-2', 'shared-link-3', 'shared-link-4']

interface KSharedSlice extends KMeta {
  readonly spec: {
    readonly devices?: readonly {
      readonly name: string
      readonly allowMultipleAllocations?: boolean
      readonly attributes?: Record<string, { string?: string }>
      readonly capacity?: Record<string, { value: string; requestPolicy?: object }>
    }[]
  }
}
interface KShareClaim extends KMeta {
  readonly status?: {
    readonly allocation?: {
      readonly devices?: {
        readonly results?: readonly {
          device: string
          shareID?: string
          consumedCapacity?: Record<string, string>
        }[]
      }
    }
    readonly devices?: readonly {
      device: string
      shareID?: string
      networkData?: { interfaceName?: string; ips?: string[] }
    }[]
  }
}

const skip = PLATFORM.minor < 36 ? `${PLATFORM.k8s}: consumable capacity is on from 1.36` : false

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1)
}

async function phases(): Promise<Map<string, string>> {
  const pods = await kubectlJson<KList<KPod>>([
    'get',
    'pods',
    '-n',
    NS,
    '-l',
    'network-dra.dev/demo=shared-link',
  ])
  return new Map(pods.items.map(p => [p.metadata.name, p.status?.phase ?? '']))
}

/** The claim generated for a pod's `net` claim (from pod.status.resourceClaimStatuses). */
async function claimOf(pod: string): Promise<KShareClaim | undefined> {
  const p = await kubectlJson<{
    status?: { resourceClaimStatuses?: { name: string; resourceClaimName?: string }[] }
  }>(['get', 'pod', '-n', NS, pod])
  const name = p.status?.resourceClaimStatuses?.find(s => s.name === 'net')?.resourceClaimName
  if (name === undefined) return undefined
  return kubectlJson<KShareClaim>(['get', 'resourceclaim', '-n', NS, name])
}

t.before(async () => {
  if (skip) return
  await createVeth(LINK)
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
  await deleteLink(LINK)
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
  const slices = await kubectl(['get', 'resourceslices', '-o', 'yaml']).catch((e: unknown) =>
    String(e),
  )
  const claims = await kubectl(['get', 'resourceclaims', '-n', NS, '-o', 'yaml']).catch(
    (e: unknown) => String(e),
  )
  t.comment(
    `plugin logs:\n${plugin}\n\nslices:\n${slices}\n\nclaims:\n${claims}\n\ncluster logs:\n${await clusterLogs()}`,
  )
})

let node = ''

t.test('install: the link is one shareable device with capacity 3', { skip }, async t => {
  await helm(chartInstallArgs(RELEASE, [`${EXAMPLES}/values-demo.yaml`]))
  await kubectl(['create', 'namespace', NS])
  node = (await kubectlJson<KList<KMeta>>(['get', 'nodes'])).items[0]?.metadata.name ?? ''
  const dev = await waitFor(`${DEVICE} published`, 2 * MINUTE, async () => {
    const slices = await kubectlJson<KList<KSharedSlice>>([
      'get',
      'resourceslices',
      '--field-selector',
      `spec.nodeName=${node},spec.driver=${DRIVER}`,
    ])
    return slices.items.flatMap(s => s.spec.devices ?? []).find(d => d.name === DEVICE)
  })
  t.comment(`published: ${JSON.stringify(dev)}`)
  t.equal(dev.allowMultipleAllocations, true, 'allowMultipleAllocations')
  t.equal(dev.attributes?.['kind']?.string, 'shared-host-link', 'kind shared-host-link')
  t.equal(dev.capacity?.['children']?.value, '3', 'capacity children = 3')
  t.same(
    dev.capacity?.['children']?.requestPolicy,
    { default: '1', validValues: ['1'] },
    'each allocation consumes exactly 1',
  )
})

t.test('three pods share the link, the fourth waits, then runs', { skip }, async t => {
  const t0 = Date.now()
  await kubectl(['apply', '-n', NS, '-f', `${EX}/shared-link.yaml`])
  const running = await waitFor('three shared-link pods Running', 4 * MINUTE, async () => {
    const ph = await phases()
    const run = PODS.filter(p => ph.get(p) === 'Running')
    return run.length === 3 ? run : undefined
  })
  const threeMs = Date.now() - t0
  const pending = PODS.find(p => !running.includes(p)) ?? ''
  const reason = await waitFor(`FailedScheduling for ${pending}`, 2 * MINUTE, async () => {
    const ev = await kubectlJson<KList<KEvent>>([
      'get',
      'events',
      '-n',
      NS,
      '--field-selector',
      `involvedObject.name=${pending}`,
    ])
    return ev.items.find(e => e.reason === 'FailedScheduling')?.message
  })
  t.comment(`scheduler on ${pending}: ${reason}`)
  t.comment(
    `pods:\n${await kubectl(['get', 'pods', '-n', NS, '-l', 'network-dra.dev/demo=shared-link'])}`,
  )
  t.match(reason, /cannot allocate all claims/, 'the scheduler reason names the claims')
  t.equal((await phases()).get(pending), 'Pending', `${pending} Pending`)
  const waiting = await claimOf(pending)
  t.equal(waiting?.status?.allocation, undefined, `${pending}'s claim is not allocated`)

  const parentIndex = (await sh('cat', [`/sys/class/net/${LINK}/ifindex`])).trim()
  const shares = new Set<string>()
  for (const pod of running) {
    const claim = await claimOf(pod)
    const result = claim?.status?.allocation?.devices?.results?.[0]
    t.equal(result?.device, DEVICE, `${pod}: allocated the shared device`)
    t.match(result?.shareID ?? '', /^[0-9a-f-]{36}$/, `${pod}: a shareID`)
    t.same(result?.consumedCapacity, { children: '1' }, `${pod}: consumed one child`)
    shares.add(result?.shareID ?? '')
    t.comment(`${pod} allocation: ${JSON.stringify(result)}`)
    const entry = await waitFor(`${pod} claim status`, MINUTE, async () => {
      const c = await claimOf(pod)
      return c?.status?.devices?.find(d => d.networkData?.ips?.length)
    })
    t.equal(entry.shareID, result?.shareID, `${pod}: status entry keyed by the shareID`)
    // The kernel's iflink of a macvlan is its lower device's ifindex (in the node's namespace).
    const iflink = await kubectl(['exec', '-n', NS, pod, '--', 'cat', '/sys/class/net/net1/iflink'])
    t.equal(iflink.trim(), parentIndex, `${pod}: net1's parent is ${LINK}`)
    const log = await kubectl(['logs', '-n', NS, pod])
    t.match(log, /net1\s+inet 10\.10\.7\.\d+\/24/, `${pod}: address from the shared network`)
    t.comment(`${pod}: ${log.trim()}`)
  }
  t.equal(shares.size, 3, 'three distinct shares')

  const gone = running[0] ?? ''
  const t1 = Date.now()
  await kubectl(['delete', 'pod', '-n', NS, gone, '--wait=true'])
  const deletedMs = Date.now() - t1
  await waitFor(`${pending} Running after ${gone} was deleted`, 4 * MINUTE, async () =>
    (await phases()).get(pending) === 'Running' ? true : undefined,
  )
  const fourthMs = Date.now() - t1
  const iflink = await kubectl([
    'exec',
    '-n',
    NS,
    pending,
    '--',
    'cat',
    '/sys/class/net/net1/iflink',
  ])
  t.equal(iflink.trim(), parentIndex, `${pending}: net1's parent is ${LINK}`)
  t.comment(
    `shared-link seconds: three Running ${seconds(threeMs)}, delete ${seconds(deletedMs)}, fourth Running after delete ${seconds(fourthMs)}`,
  )
  await kubectl([
    'delete',
    '-n',
    NS,
    '-f',
    `${EX}/shared-link.yaml`,
    '--wait=true',
    '--ignore-not-found',
  ])
})
