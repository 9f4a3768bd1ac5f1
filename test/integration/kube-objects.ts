// Invariant: against a real kube-apiserver (the version test/lib/platform.ts selects), the
// Kubernetes-object side is accepted as
// written: ResourceSlices pass validation and split at 128 devices with one generation and the
// right count, owned by the Node; slices wiped like the kubelet does are re-created; a claim
// allocated as the scheduler would gives plans; our status (conditions, data, networkData) is
// accepted by server-side apply; a device that is not allocated is refused without retries; and
// a pod Event is stored; a link-down device taint is stored (or, on 1.35, dropped and noticed);
// a shared host link (KEP-5075) is stored with allowMultipleAllocations and its capacity (or, on
// 1.35, dropped, noticed and republished as the exclusive device); a pod read with its UID is
// answered by the API server's watch cache, and a re-created pod of the same name by the quorum GET.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import {
  CoreV1Api,
  KubeConfig,
  ResourceV1Api,
  type ResourceV1ResourceClaim,
} from '@kubernetes/client-node'
import { buildAttachmentPlans } from '../../src/claims/plan-builder.js'
import { DEFAULT_POLICY } from '../../src/claims/policy.js'
import { silentLogger } from '../../src/logger.js'
import { systemClock } from '../../src/slices/clock.js'
import {
  attachmentDevices,
  hostInterfaceDevice,
  linkDownTaintKey,
  sharedHostLinkDevice,
} from '../../src/slices/device-builder.js'
import { kubeSliceClient } from '../../src/slices/kube-slice-client.js'
import { SlicePublisher } from '../../src/slices/slice-publisher.js'
import { ClaimStatusWriter } from '../../src/status/claim-status.js'
import { kubeStatusClient } from '../../src/status/kube-status-client.js'
import { PodEventRecorder } from '../../src/status/pod-events.js'
import { KubePodReader, type PodReadSource } from '../../src/kube/pod-reader.js'
import { PLATFORM } from '../lib/platform.js'
import { controlPlaneKubeconfig } from './lib/daemon.js'
import { randomSuffix } from './lib/netns.js'
import { sortKeys } from '../../src/util/sort-keys.js'

/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   request bodies are plain objects: the client serialises by attribute maps, not class identity */

const run = promisify(execFile)
const DRIVER = 'network-dra.dev'
const APISERVER = PLATFORM.kubeApiserver

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 200))
  }
}

t.test('kube objects against a real apiserver', { timeout: 240_000 }, async t => {
  try {
    await run('test', ['-x', APISERVER])
  } catch {
    t.fail(`${APISERVER} missing: build the Kubernetes binaries first (scripts/build/k8s.sh)`)
    return
  }
  const kubeconfig = await controlPlaneKubeconfig(t)
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  const core = kc.makeApiClient(CoreV1Api)
  const resource = kc.makeApiClient(ResourceV1Api)
  const sfx = randomSuffix()
  const node = `ndra-it-${sfx}`
  const ns = `ndra-it-${sfx}`
  const selector = `spec.nodeName=${node},spec.driver=${DRIVER}`

  const nodeObj = await core.createNode({ body: { metadata: { name: node } } })
  t.teardown(async () => {
    await resource.deleteCollectionResourceSlice({ fieldSelector: selector }).catch(() => undefined)
    await core.deleteNode({ name: node }).catch(() => undefined)
  })
  await core.createNamespace({ body: { metadata: { name: ns } } })
  t.teardown(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined)
  })

  // --- ResourceSlices -------------------------------------------------------------------------
  const pub = new SlicePublisher({
    client: kubeSliceClient(kc),
    driverName: DRIVER,
    nodeName: node,
    clock: systemClock,
    logger: silentLogger(),
    reactDelayMs: 200,
    rewatchDelayMs: 500,
    resyncIntervalMs: 60_000,
  })
  t.teardown(() => pub.stop())
  const host = hostInterfaceDevice({
    name: 'veth-it.1',
    mac: '02:00:00:00:00:aa',
    mtu: 1500,
    driver: 'veth',
    numaNode: 0,
    state: 'up',
    addresses: ['192.0.2.7/24', 'fd00::7/64'],
  })
  pub.setDevices([...attachmentDevices(130), host])
  const t0 = performance.now()
  await pub.start()
  t.comment(`initial publish of 131 devices: ${(performance.now() - t0).toFixed(0)} ms`)

  const listSlices = async () =>
    (await resource.listResourceSlice({ fieldSelector: selector })).items
  let items = await listSlices()
  t.equal(items.length, 2, 'split into 2 slices')
  t.same(
    items.map(s => s.spec.devices?.length ?? 0).sort((a, b) => b - a),
    [128, 3],
  )
  for (const s of items) {
    t.equal(s.spec.pool.generation, 0)
    t.equal(s.spec.pool.resourceSliceCount, 2)
    t.equal(s.spec.pool.name, node)
    t.equal(s.spec.nodeName, node)
    t.equal(s.metadata?.ownerReferences?.[0]?.uid, nodeObj.metadata?.uid, 'owned by the Node')
    t.equal(s.metadata?.ownerReferences?.[0]?.controller, true)
    t.match(s.metadata?.name, new RegExp(`^${node}-${DRIVER.replace('.', '\\.')}-`))
  }
  const hostDev = items.flatMap(s => s.spec.devices ?? []).find(d => d.name === host.name)
  t.equal(hostDev?.attributes?.['mtu']?._int, 1500, 'int attribute survived the round trip')
  t.equal(hostDev?.attributes?.['ipv6']?.string, 'fd00::7/64')

  // Kubelet-style wipe: DeleteCollection by field selector; the watch must bring them back.
  await resource.deleteCollectionResourceSlice({ fieldSelector: selector })
  const t1 = performance.now()
  items = await waitFor('re-created slices', async () => {
    const l = await listSlices()
    return l.length === 2 ? l : undefined
  })
  t.comment(`re-created after wipe in ${(performance.now() - t1).toFixed(0)} ms`)
  t.ok(
    items.every(s => s.spec.pool.generation === 1),
    'new generation after wipe',
  )

  // Shrinking the pool: one slice left, newer generation, extra slice deleted.
  pub.setDevices(attachmentDevices(5))
  await pub.sync()
  items = await listSlices()
  t.equal(items.length, 1)
  t.equal(items[0]?.spec.pool.generation, 2)
  t.equal(items[0]?.spec.pool.resourceSliceCount, 1)

  // Link-down taint (KEP-5055): stored with the apiserver's timeAdded where DRADeviceTaints is on
  // (default from 1.36), dropped by a 1.35 apiserver, which the publisher notices (no write loop).
  const downHost = hostInterfaceDevice(
    { name: 'veth-it.1', state: 'down', addresses: [] },
    { key: linkDownTaintKey(DRIVER), effect: 'NoSchedule' },
  )
  pub.setDevices([...attachmentDevices(5), downHost])
  await pub.sync()
  items = await listSlices()
  const stored = items.flatMap(s => s.spec.devices ?? []).find(d => d.name === downHost.name)
  if (PLATFORM.minor >= 36) {
    t.equal(stored?.taints?.length, 1, 'taint stored')
    t.equal(stored?.taints?.[0]?.key, `${DRIVER}/link-down`)
    t.equal(stored?.taints?.[0]?.value, 'down')
    t.equal(stored?.taints?.[0]?.effect, 'NoSchedule')
    t.ok(stored?.taints?.[0]?.timeAdded, 'timeAdded set by the apiserver')
    t.notOk(pub.taintsDropped)
  } else {
    t.equal(stored?.taints, undefined, `${PLATFORM.k8s} drops device taints`)
    t.ok(pub.taintsDropped, 'the publisher noticed')
  }
  const gen = items[0]?.spec.pool.generation
  await pub.sync()
  items = await listSlices()
  t.equal(items[0]?.spec.pool.generation, gen, 'no rewrite once converged')
  pub.setDevices(attachmentDevices(5))
  await pub.sync()
  items = await listSlices()
  t.notOk(
    items.flatMap(s => s.spec.devices ?? []).some(d => (d.taints ?? []).length > 0),
    'taint gone with the link up',
  )

  // Shared host link (KEP-5075): stored with allowMultipleAllocations and the children capacity
  // (with its request policy) where DRAConsumableCapacity is on (default from 1.36); a 1.35
  // apiserver drops them, the publisher notices and publishes the exclusive device instead.
  const shared = sharedHostLinkDevice({ name: 'veth-it.2', state: 'up', addresses: [] }, 3)
  pub.setDevices([...attachmentDevices(5), shared])
  await pub.sync()
  items = await listSlices()
  const sharedStored = items.flatMap(s => s.spec.devices ?? []).find(d => d.name === shared.name)
  if (PLATFORM.minor >= 36) {
    t.equal(sharedStored?.allowMultipleAllocations, true, 'allowMultipleAllocations stored')
    t.same(
      sharedStored?.capacity,
      { children: { value: '3', requestPolicy: { _default: '1', validValues: ['1'] } } },
      'capacity and request policy stored',
    )
    t.equal(sharedStored?.attributes?.['kind']?.string, 'shared-host-link')
    t.notOk(pub.sharingDropped)
  } else {
    t.equal(sharedStored?.allowMultipleAllocations, undefined, `${PLATFORM.k8s} drops it`)
    t.ok(pub.sharingDropped, 'the publisher noticed')
    t.equal(sharedStored?.attributes?.['kind']?.string, 'host-interface', 'exclusive fallback')
    t.equal(sharedStored?.capacity, undefined, 'no capacity on the fallback device')
  }
  const sharedGen = items[0]?.spec.pool.generation
  await pub.sync()
  items = await listSlices()
  t.equal(items[0]?.spec.pool.generation, sharedGen, 'no rewrite once converged (shared)')
  await pub.stop()

  // --- ResourceClaims: allocate as the scheduler would, plan, write status ----------------------
  // c-sorted: parameters stored with sorted keys (as kubectl writes them) → server-side apply.
  // c-unsorted: keys in insertion order → the apiserver refuses the apply (it re-encodes the
  // immutable allocation with sorted keys and sees a change), the writer falls back to JSON Patch.
  const podUid = '11111111-2222-3333-4444-555555555555'
  const statusClient = kubeStatusClient(kc)
  for (const sortedKeys of [true, false]) {
    const claimName = sortedKeys ? 'c-sorted' : 'c-unsorted'
    t.comment(`claim ${claimName}`)
    const unsorted = {
      kind: 'CNIConfig',
      apiVersion: `${DRIVER}/v1alpha1`,
      network: {
        name: 'it',
        cniVersion: '1.0.0',
        plugins: [
          { type: 'bridge', bridge: 'br-it', ipam: { type: 'host-local', subnet: '10.9.0.0/24' } },
        ],
      },
      interfaceName: 'net7',
    }
    const params = sortedKeys ? (sortKeys(unsorted) as typeof unsorted) : unsorted
    const created = await resource.createNamespacedResourceClaim({
      namespace: ns,
      body: {
        metadata: { name: claimName },
        spec: {
          devices: {
            requests: [{ name: 'net', exactly: { deviceClassName: 'network-dra' } }],
            config: [{ requests: ['net'], opaque: { driver: DRIVER, parameters: params } }],
          },
        },
      },
    })
    created.status = {
      allocation: {
        devices: {
          results: [{ request: 'net', driver: DRIVER, pool: node, device: 'attachment-0' }],
          config: [
            {
              source: 'FromClaim',
              requests: ['net'],
              opaque: { driver: DRIVER, parameters: params },
            },
          ],
        },
        nodeSelector: {
          nodeSelectorTerms: [
            { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
          ],
        },
      },
      reservedFor: [{ resource: 'pods', name: 'p1', uid: podUid }],
    }
    const allocated: ResourceV1ResourceClaim = await resource.replaceNamespacedResourceClaimStatus({
      name: claimName,
      namespace: ns,
      body: created,
    })
    t.equal(allocated.status?.allocation?.devices?.results?.[0]?.device, 'attachment-0')

    // A claim-written network: the test namespace is granted, br-it and 10.9.0.0/24 allowed.
    const policy = {
      ...DEFAULT_POLICY,
      tenantNetworkNamespaces: [ns],
      allowedBridges: ['br-it'],
      allowedCIDRs: ['10.9.0.0/24'],
    }
    t.throws(
      () =>
        buildAttachmentPlans({
          claim: allocated,
          driverName: DRIVER,
          nodeName: node,
          policy: DEFAULT_POLICY,
          hostInterface: () => undefined,
        }),
      { code: 'NDRA_POLICY_VIOLATION', message: /\[tenant-network-namespace\]/ },
      'the default policy refuses claim-written networks',
    )
    const plans = buildAttachmentPlans({
      claim: allocated,
      driverName: DRIVER,
      nodeName: node,
      policy,
      hostInterface: () => undefined,
    })
    t.match(plans, [{ request: 'net', pool: node, device: 'attachment-0', ifName: 'net7' }])
    t.throws(
      () =>
        buildAttachmentPlans({
          claim: allocated,
          driverName: DRIVER,
          nodeName: 'some-other-node',
          policy,
          hostInterface: () => undefined,
        }),
      { code: 'NDRA_CLAIM_NOT_ALLOCATED' },
    )

    const writer = new ClaimStatusWriter({
      client: statusClient,
      driverName: DRIVER,
      clock: systemClock,
      logger: silentLogger(),
      baseDelayMs: 50,
    })
    const ref = {
      namespace: ns,
      name: claimName,
      uid: allocated.metadata?.uid ?? '',
      generation: allocated.metadata?.generation,
    }
    const cniResult = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'net7', mac: '02:00:00:00:00:07', sandbox: '/var/run/netns/x' }],
      ips: [{ address: '10.9.0.5/24', gateway: '10.9.0.1', interface: 0 }],
    }
    await writer.write(ref, [
      {
        pool: node,
        device: 'attachment-0',
        ready: true,
        reason: 'NetworkReady',
        message: 'net7 attached',
        result: cniResult,
        networkData: {
          interfaceName: 'net7',
          ips: ['10.9.0.5/24', 'fd00::5/64'],
          hardwareAddress: '02:00:00:00:00:07',
        },
      },
    ])
    const after = await resource.readNamespacedResourceClaimStatus({
      name: claimName,
      namespace: ns,
    })
    const dev = after.status?.devices?.[0]
    t.equal(after.status?.devices?.length, 1)
    t.equal(dev?.driver, DRIVER)
    t.equal(dev?.device, 'attachment-0')
    t.same(dev?.networkData, {
      interfaceName: 'net7',
      ips: ['10.9.0.5/24', 'fd00::5/64'],
      hardwareAddress: '02:00:00:00:00:07',
    })
    t.same(dev?.data, cniResult)
    t.equal(dev?.conditions?.[0]?.type, 'Ready')
    t.equal(dev?.conditions?.[0]?.status, 'True')
    t.equal(dev?.conditions?.[0]?.reason, 'NetworkReady')
    const managers = (after.metadata?.managedFields ?? []).map(
      m => `${m.manager ?? ''}/${m.operation ?? ''}`,
    )
    t.ok(
      managers.includes(sortedKeys ? `${DRIVER}/Apply` : `${DRIVER}/Update`),
      `${sortedKeys ? 'server-side apply' : 'JSON patch fallback'} by ${DRIVER} (${managers.join(', ')})`,
    )

    // Flip to failed: the same entry is replaced, not duplicated.
    await writer.write(ref, [
      {
        pool: node,
        device: 'attachment-0',
        ready: false,
        reason: 'NetworkAttachFailed',
        message: 'boom',
      },
    ])
    const failed = await resource.readNamespacedResourceClaimStatus({
      name: claimName,
      namespace: ns,
    })
    t.equal(failed.status?.devices?.length, 1)
    t.equal(failed.status?.devices?.[0]?.conditions?.[0]?.status, 'False')
    t.equal(
      failed.status?.devices?.[0]?.networkData,
      undefined,
      'fields we stopped applying are removed',
    )

    // A device that is not allocated is refused by validation, and not retried.
    const t2 = performance.now()
    await t.rejects(
      writer.write(ref, [
        { pool: node, device: 'attachment-4', ready: true, reason: 'NetworkReady', message: 'x' },
      ]),
      { code: 'NDRA_KUBE_API', message: /must be an allocated device/ },
    )
    t.ok(performance.now() - t2 < 2_000, 'no retry loop on a validation error')
  }

  // --- Pod reads: watch cache first, quorum GET when it cannot answer -----------------------------
  const podBody = {
    metadata: { name: 'reader-pod', namespace: ns },
    spec: {
      nodeName: node,
      containers: [
        { name: 'c', image: 'localhost/none:v1', resources: { claims: [{ name: 'net' }] } },
      ],
      resourceClaims: [{ name: 'net', resourceClaimName: 'c-unsorted' }],
    },
  }
  const created = await core.createNamespacedPod({ namespace: ns, body: podBody })
  const sources: PodReadSource[] = []
  const reader = new KubePodReader(core, src => sources.push(src))
  const ac = new AbortController()
  const fromCache = await waitFor('the pod in the watch cache', async () => {
    sources.length = 0
    const p = await reader.get(ns, 'reader-pod', ac.signal, created.metadata?.uid)
    return sources[0] === 'cache' ? p : undefined
  })
  t.equal(fromCache.metadata?.uid, created.metadata?.uid, 'cache answered with the pod')
  t.same(fromCache.spec?.containers?.[0]?.resources?.claims, [{ name: 'net' }])
  sources.length = 0
  const other = await reader.get(ns, 'reader-pod', ac.signal, 'not-this-uid')
  t.same(sources, ['quorum'], 'another UID: the quorum read decides')
  t.equal(other?.metadata?.uid, created.metadata?.uid)
  await core.deleteNamespacedPod({ name: 'reader-pod', namespace: ns, gracePeriodSeconds: 0 })
  await waitFor('the pod gone', async () =>
    (await reader.get(ns, 'reader-pod', ac.signal)) === undefined ? true : undefined,
  )
  sources.length = 0
  t.equal(
    await reader.get(ns, 'reader-pod', ac.signal, created.metadata?.uid),
    undefined,
    'a deleted pod is gone, whatever the cache held',
  )
  t.equal(sources.at(-1), 'quorum')

  // --- Event --------------------------------------------------------------------------------------
  const recorder = new PodEventRecorder({
    client: statusClient,
    driverName: DRIVER,
    nodeName: node,
    clock: systemClock,
    logger: silentLogger(),
  })
  await recorder.attachFailed(
    { namespace: ns, name: 'p1', uid: podUid },
    {
      claim: 'c-unsorted',
      request: 'net',
      device: 'attachment-0',
      message: 'plugin type="bridge" failed (add): boom',
    },
  )
  const events = await core.listNamespacedEvent({
    namespace: ns,
    fieldSelector: 'involvedObject.name=p1',
  })
  t.equal(events.items.length, 1)
  t.equal(events.items[0]?.reason, 'NetworkAttachFailed')
  t.equal(events.items[0]?.type, 'Warning')
  t.match(events.items[0]?.message, /boom$/)
  t.equal(events.items[0]?.involvedObject.uid, podUid)
})
