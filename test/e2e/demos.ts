// End to end on the real single-node cluster (scripts/cluster/up.sh): helm install the chart with
// the locally built image, wait for the ResourceSlices, apply the demo manifests users apply, and
// check what a user would: interfaces inside pods, claim status, Pending reasons, unprepare
// clean-up, a plugin restart that changes nothing for running pods, and fail-closed on a broken
// network. The chart is installed with its defaults plus the demo allowance (examples/values-demo.yaml):
// the demo namespace may write raw networks, any other namespace is refused at admission with a
// message naming who can allow it, and uses the admin network with only `ips` instead. Cleanup (and
// diagnostics on failure) are registered before anything is created.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import t from 'tap'
import {
  REPO,
  SYSTEM_NS,
  failureDiagnostics,
  removeInstall,
  createVeth,
  deleteLink,
  helm,
  kubectl,
  kubectlJson,
  linkExists,
  type KClaim,
  type KEvent,
  type KList,
  type KMeta,
  type KPod,
  type KResourceSlice,
  podAddr,
  podPhase,
  waitFor,
  chartInstallArgs,
  EXAMPLES,
} from './lib/cluster.js'
import { PLATFORM } from '../lib/platform.js'

const DRIVER = 'network-dra.dev'
/** The chart's default metrics port (host network; `http.port: null`). */
const METRICS_PORT = 9465
/** DRAPlugin API the kubelet of every supported version chooses when both are offered. */
const KUBELET_DRA_API = 'v1'
const OTHER_DRA_API = 'v1beta1'
const RELEASE = 'ndra-e2e'
/** The demo namespace: granted raw networks by examples/values-demo.yaml. */
const NS = 'network-dra-demo'
/** A tenant namespace without the grant: admin networks only. */
const TENANT_NS = `ndra-tenant-${Math.random().toString(36).slice(2, 7)}`
const EX = EXAMPLES
const MINUTE = 60_000

const nodeName = async (): Promise<string> => {
  const node = (await kubectlJson<KList<KMeta>>(['get', 'nodes'])).items[0]
  if (node === undefined) throw new Error('the cluster has no node')
  return node.metadata.name
}

const apply = (file: string) => kubectl(['apply', '-n', NS, '-f', file])

const running = (name: string) =>
  waitFor(`pod ${name} Running`, 3 * MINUTE, async () =>
    (await podPhase(NS, name)) === 'Running' ? true : undefined,
  )

const claimOf = (name: string) => kubectlJson<KClaim>(['get', 'resourceclaim', '-n', NS, name])

/** Names of the devices this driver publishes in the node's ResourceSlices. */
const publishedDeviceNames = async (node: string): Promise<string[]> => {
  const slices = await kubectlJson<KList<KResourceSlice>>([
    'get',
    'resourceslices',
    '--field-selector',
    `spec.driver=${DRIVER},spec.nodeName=${node}`,
  ])
  return slices.items.flatMap(sl => (sl.spec.devices ?? []).map(d => d.name))
}

/** Events of a pod in the demo namespace. */
const podEvents = (pod: string): Promise<KList<KEvent>> =>
  kubectlJson<KList<KEvent>>([
    'get',
    'events',
    '-n',
    NS,
    '--field-selector',
    `involvedObject.name=${pod}`,
  ])

const cdiSpecs = () => readdirSync('/var/run/cdi').filter(f => f.startsWith(`${DRIVER}-net_`))

t.before(async () => {
  await createVeth('ndra-demo0')
  await createVeth('ndra-hostif0')
})

t.teardown(async () => {
  await removeInstall(RELEASE, [TENANT_NS, NS])
  await deleteLink('ndra-demo0')
  await deleteLink('ndra-hostif0')
})

t.afterEach(async t => {
  if (!t.passing()) t.comment(await failureDiagnostics())
})

t.test('helm install publishes ResourceSlices', async t => {
  await helm(chartInstallArgs(RELEASE, [`${EXAMPLES}/values-demo.yaml`]))
  await kubectl(['create', 'namespace', NS])
  await kubectl(['create', 'namespace', TENANT_NS])
  // The chart's admission policies are live once the API server's policy informer has them (it can
  // lag a loaded machine by seconds): wait until a raw network in the tenant namespace is refused,
  // so demo B's second reservation meets the single-pod policy too.
  const demoA = readFileSync(`${EX}/demo-a.yaml`, 'utf8')
  await waitFor(
    'the claim admission policy refuses a raw network in a tenant namespace',
    MINUTE,
    async () => {
      try {
        await kubectl(['apply', '--dry-run=server', '-n', TENANT_NS, '-f', '-'], demoA)
        return undefined
      } catch (err: unknown) {
        return String((err as { stderr?: unknown }).stderr ?? err).includes('network-dra policy [')
          ? true
          : undefined
      }
    },
  )
  const node = await nodeName()
  const devices = await waitFor(
    'ResourceSlices with 128 slots and the host interface',
    2 * MINUTE,
    async () => {
      const names = await publishedDeviceNames(node)
      return names.length >= 129 && names.includes('host-ndra-hostif0') ? names : undefined
    },
  )
  t.equal(devices.filter(n => n.startsWith('attachment-')).length, 128)
  t.ok(devices.includes('host-ndra-hostif0'))
})

let demoAAddr = ''
let demoAUid = ''

t.test('demo A: one pod, one claim, macvlan + host-local 10.10.1.0/24', async t => {
  await apply(`${EX}/demo-a.yaml`)
  await running('demo-a')
  demoAAddr = await podAddr(NS, 'demo-a', 'net1')
  t.match(demoAAddr, /^10\.10\.1\.\d+\/24$/)
  const claim = await waitFor('claim status written', MINUTE, async () => {
    const c = await claimOf('demo-a-net')
    return c.status?.devices?.[0]?.networkData ? c : undefined
  })
  demoAUid = claim.metadata.uid
  const dev = claim.status?.devices?.[0]
  t.equal(dev?.driver, DRIVER)
  t.equal(dev?.networkData?.interfaceName, 'net1')
  t.same(dev?.networkData?.ips, [demoAAddr])
  t.equal(dev?.conditions?.find(c => c.type === 'Ready')?.status, 'True')
  t.ok(existsSync(`/var/run/cdi/${DRIVER}-net_${demoAUid}.json`), 'CDI spec written')
})

t.test(`the kubelet of ${PLATFORM.k8s} calls DRAPlugin ${KUBELET_DRA_API}`, async t => {
  // The plugin serves v1 and v1beta1; which one the kubelet picks is the version's business.
  // Every supported Kubernetes prefers v1; the plugin counts calls per API version.
  const text = await fetch(`http://127.0.0.1:${String(METRICS_PORT)}/metrics`).then(r => r.text())
  const calls = (v: string): number =>
    text
      .split('\n')
      .filter(
        l =>
          l.startsWith('network_dra_kubelet_dra_calls_total{') &&
          l.includes(`api_version="${v}"`) &&
          l.includes('method="NodePrepareResources"'),
      )
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
  t.ok(calls(KUBELET_DRA_API) >= 1, `NodePrepareResources arrived on ${KUBELET_DRA_API}`)
  t.equal(calls(OTHER_DRA_API), 0, `none on ${OTHER_DRA_API}`)
})

t.test('demo B: a second pod on the same claim stays Pending with the policy reason', async t => {
  await apply(`${EX}/demo-b.yaml`)
  const msg = await waitFor('FailedScheduling event naming the policy', 2 * MINUTE, async () => {
    const ev = await podEvents('demo-b')
    return ev.items.map(e => e.message ?? '').find(m => m.includes('serves exactly one pod'))
  })
  t.match(msg, 'network-dra: a network claim serves exactly one pod')
  t.equal(await podPhase(NS, 'demo-b'), 'Pending')
})

t.test('demo C: Deployment of 2 replicas with a ResourceClaimTemplate', async t => {
  await apply(`${EX}/demo-c.yaml`)
  const pods = await waitFor('2 demo-c pods Running', 3 * MINUTE, async () => {
    const l = await kubectlJson<KList<KPod>>(['get', 'pods', '-n', NS, '-l', 'app=demo-c'])
    const r = l.items.filter(p => p.status?.phase === 'Running').map(p => p.metadata.name)
    return r.length === 2 ? r : undefined
  })
  const addrs = await Promise.all(pods.map(p => podAddr(NS, p, 'net1')))
  t.equal(new Set(addrs).size, 2, `distinct addresses: ${addrs.join(' ')}`)
  const claims = await kubectlJson<KList<KClaim>>(['get', 'resourceclaims', '-n', NS])
  t.equal(claims.items.filter(c => c.metadata.name.startsWith('demo-c-')).length, 2)
})

t.test('host-interface demo: the host link moves into the pod', async t => {
  await apply(`${EX}/host-interface.yaml`)
  await running('demo-hostif')
  t.equal(await podAddr(NS, 'demo-hostif', 'net1'), '10.10.5.10/24')
  t.notOk(await linkExists('ndra-hostif0'), 'link gone from the host')
})

t.test('admin-network demo: the class defines the network', async t => {
  await apply(`${EX}/admin-network.yaml`)
  await running('demo-admin')
  t.match(await podAddr(NS, 'demo-admin', 'net1'), /^\d+\.\d+\.\d+\.\d+\/\d+$/)
})

/** Apply a manifest expecting admission to refuse it; returns the API server's message. */
const refused = async (ns: string, manifest: string): Promise<string> => {
  try {
    await kubectl(['apply', '-n', ns, '-f', '-'], manifest)
  } catch (err: unknown) {
    return String((err as { stderr?: unknown }).stderr ?? err)
  }
  throw new Error(`applied in ${ns} although admission should refuse it`)
}

t.test('a raw network in a namespace without the grant is refused at admission', async t => {
  const msg = await refused(TENANT_NS, readFileSync(`${EX}/demo-a.yaml`, 'utf8'))
  t.match(msg, 'network-dra policy [tenant-network-namespace]')
  t.match(msg, `namespace "${TENANT_NS}" may not write a CNI network in a claim`)
  t.match(msg, 'policy.tenantNetworkNamespaces', 'names the chart value that allows it')
  t.match(msg, 'ask the cluster admin', 'and who sets it')
  const claims = await kubectlJson<KList<KClaim>>(['get', 'resourceclaims', '-n', TENANT_NS])
  t.same(claims.items, [], 'nothing was created')
})

t.test('admin network demo: the tenant sets only ips, from any namespace', async t => {
  await kubectl(['apply', '-n', TENANT_NS, '-f', `${EX}/admin-network-ips.yaml`])
  await waitFor('pod demo-ips Running', 3 * MINUTE, async () =>
    (await podPhase(TENANT_NS, 'demo-ips')) === 'Running' ? true : undefined,
  )
  t.equal(await podAddr(TENANT_NS, 'demo-ips', 'net1'), '10.10.6.20/24', 'the address it asked for')
  const claim = await kubectlJson<KClaim>(['get', 'resourceclaim', '-n', TENANT_NS, 'demo-ips-net'])
  t.same(claim.status?.devices?.[0]?.networkData?.ips, ['10.10.6.20/24'])
})

t.test('an ips outside the admin network range is refused at admission', async t => {
  // The demo's claim alone, asking for an address outside the network's 10.10.6.0/24.
  const claimDoc = readFileSync(`${EX}/admin-network-ips.yaml`, 'utf8').split('\n---\n')[0] ?? ''
  const manifest = claimDoc
    .replace('10.10.6.20/24', '10.10.7.20/24')
    .replace('name: demo-ips-net', 'name: demo-ips-out')
  t.match(manifest, '10.10.7.20/24')
  const msg = await refused(TENANT_NS, manifest)
  t.match(msg, 'network-dra policy [address-range]')
  t.match(msg, '"10.10.7.20/24" is not inside an allowed CIDR')
  t.match(msg, '10.10.6.0/24', 'names the range that is allowed')
})

t.test('restarting the plugin pod changes nothing for running pods', async t => {
  const before = await kubectlJson<KPod>(['get', 'pod', '-n', NS, 'demo-a'])
  const plugin = await kubectlJson<KList<KPod>>([
    'get',
    'pods',
    '-n',
    SYSTEM_NS,
    '-l',
    'app.kubernetes.io/name=network-dra',
  ])
  const old = plugin.items[0]?.metadata.name
  if (old === undefined) throw new Error('no plugin pod to restart')
  await kubectl(['delete', 'pod', '-n', SYSTEM_NS, old, '--wait=true'])
  await waitFor('a new plugin pod Ready', 3 * MINUTE, async () => {
    const l = await kubectlJson<KList<KPod>>([
      'get',
      'pods',
      '-n',
      SYSTEM_NS,
      '-l',
      'app.kubernetes.io/name=network-dra',
    ])
    return l.items.some(
      p =>
        p.metadata.name !== old &&
        p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True'),
    )
      ? true
      : undefined
  })
  const after = await kubectlJson<KPod>(['get', 'pod', '-n', NS, 'demo-a'])
  t.equal(after.status?.phase, 'Running')
  t.equal(
    after.status?.containerStatuses?.[0]?.restartCount,
    before.status?.containerStatuses?.[0]?.restartCount,
  )
  t.equal(await podAddr(NS, 'demo-a', 'net1'), demoAAddr)
})

t.test(
  'deleting the pods unprepares: interface gone, address released, CDI spec removed',
  async t => {
    await kubectl(['delete', 'pod', '-n', NS, 'demo-b', '--wait=true'])
    await kubectl(['delete', 'pod', '-n', NS, 'demo-a', '--wait=true', '--timeout=120s'])
    await kubectl([
      'delete',
      'resourceclaim',
      '-n',
      NS,
      'demo-a-net',
      '--wait=true',
      '--timeout=120s',
    ])
    const ip = demoAAddr.split('/')[0] ?? ''
    await waitFor('CDI spec removed', 2 * MINUTE, async () =>
      existsSync(`/var/run/cdi/${DRIVER}-net_${demoAUid}.json`) ? undefined : true,
    )
    t.notOk(
      existsSync(`/var/lib/cni/networks/ndra.ns.${NS}.demo-a/${ip}`),
      'host-local reservation released',
    )
    const hostifUid = (await claimOf('demo-hostif')).metadata.uid
    await kubectl(['delete', 'pod', '-n', NS, 'demo-hostif', '--wait=true', '--timeout=120s'])
    await waitFor('host-interface claim unprepared', 2 * MINUTE, async () =>
      existsSync(`/var/run/cdi/${DRIVER}-net_${hostifUid}.json`) ? undefined : true,
    )
    // The test's "NIC" is a veth: the kernel destroys a virtual link (and its peer) with the pod's
    // netns, where a physical NIC would return to the host. Either way the device must leave the
    // published ResourceSlices once the link is gone from the host.
    t.notOk(await linkExists('ndra-hostif0p'), 'veth pair destroyed with the pod netns')
    const node = await nodeName()
    await waitFor('host-ndra-hostif0 unpublished', MINUTE, async () => {
      const names = await publishedDeviceNames(node)
      return names.includes('host-ndra-hostif0') ? undefined : true
    })
    t.pass('vanished host link unpublished')
  },
)

t.test('a broken network config keeps the pod from running and leaves an Event', async t => {
  await apply(`${REPO}test/e2e/manifests/broken-network.yaml`)
  const msg = await waitFor('NetworkAttachFailed event', 3 * MINUTE, async () => {
    const ev = await podEvents('broken')
    return ev.items.find(e => e.reason === 'NetworkAttachFailed')?.message
  })
  t.match(msg, /macvlan/)
  // The pod phase can read Running (the kubelet counts the failed create as an attempt), so check
  // the container itself: never running, never ready, and any termination is a StartError (the
  // createRuntime hook failed before the process started).
  const status = await kubectlJson<KPod>(['get', 'pod', '-n', NS, 'broken'])
  const cs = status.status?.containerStatuses?.[0]
  t.notOk(cs?.state?.running, 'container never ran')
  t.equal(cs?.ready ?? false, false, 'container never ready')
  for (const term of [cs?.state?.terminated, cs?.lastState?.terminated]) {
    if (term)
      t.equal(term.reason, 'StartError', `terminated only by StartError: ${JSON.stringify(term)}`)
  }
  t.ok(cdiSpecs().length > 0)
})

t.test('a claim no container uses is refused at prepare with the fix in an Event', async t => {
  await apply(`${REPO}test/e2e/manifests/unreferenced-claim.yaml`)
  const msg = await waitFor('NetworkClaimUnreferenced event', 3 * MINUTE, async () => {
    const ev = await podEvents('unreferenced')
    return ev.items.find(e => e.reason === 'NetworkClaimUnreferenced')?.message
  })
  t.match(
    msg,
    /^network-dra policy \[unreferenced-claim\] pod unreferenced spec\.resourceClaims\[net\]: ResourceClaim unreferenced-net is listed in the pod's spec\.resourceClaims but in no container's resources\.claims/,
  )
  t.match(msg, /add it to resources\.claims of the containers that need the interface/)
  const prepareFailed = await waitFor(
    'the kubelet reports the failed prepare',
    MINUTE,
    async () => {
      const ev = await podEvents('unreferenced')
      return ev.items.find(
        e =>
          (e.message ?? '').includes('[unreferenced-claim]') &&
          e.reason !== 'NetworkClaimUnreferenced',
      )
    },
  )
  t.ok(prepareFailed, `kubelet event ${prepareFailed.reason ?? ''}`)
  const pod = await kubectlJson<KPod>(['get', 'pod', '-n', NS, 'unreferenced'])
  t.not(pod.status?.phase, 'Running', 'the pod does not run without its network')
  t.notOk(pod.status?.containerStatuses?.[0]?.state?.running, 'its container never started')
})
