// Invariant (prioritized list, GA in 1.36): against a real kube-apiserver, a claim whose request
// uses `firstAvailable` sub-requests, allocated the way the scheduler's allocator writes it
// (results name `request/subrequest`; class config entries carry `request/subrequest`; claim
// entries keep the names the user wrote, parent or `request/subrequest`), is accepted; the plan
// takes config for the parent and for the chosen subrequest but not for the other one, keeps the
// main request for CDI and the kubelet and `request/subrequest` for the metadata file; and the
// device status we write for the subrequest's device is accepted. Matching rule checked upstream:
// DeviceAllocationConfiguration.requests ("If just the main request is given, the configuration
// applies to all subrequests") and the allocator (structured/allocator.go: class entries get
// requestData.requestName() = "<request>/<subrequest>").
import t from 'tap'
import {
  CoreV1Api,
  KubeConfig,
  ResourceV1Api,
  type ResourceV1ResourceClaim,
} from '@kubernetes/client-node'
import { buildAttachmentPlans } from '../../src/claims/plan-builder.js'
import { DEFAULT_POLICY } from '../../src/claims/policy.js'
import { cdiDevicesOf } from '../../src/driver/claim-metadata.js'
import { DeviceMetadataFiles, podClaimNameOf } from '../../src/metadata/device-metadata.js'
import { silentLogger } from '../../src/logger.js'
import { systemClock } from '../../src/slices/clock.js'
import { ClaimStatusWriter } from '../../src/status/claim-status.js'
import { kubeStatusClient } from '../../src/status/kube-status-client.js'
import { sortKeys } from '../../src/util/sort-keys.js'
import { controlPlaneKubeconfig } from './lib/daemon.js'
import { randomSuffix } from './lib/netns.js'

/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   request bodies are plain objects: the client serialises by attribute maps, not class identity */

const DRIVER = 'network-dra.dev'

const cni = (o: Record<string, unknown>): Record<string, unknown> =>
  sortKeys({ kind: 'CNIConfig', apiVersion: `${DRIVER}/v1alpha1`, ...o }) as Record<string, unknown>

t.test('firstAvailable claim: config matching and status', { timeout: 240_000 }, async t => {
  const kubeconfig = await controlPlaneKubeconfig(t)
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  const core = kc.makeApiClient(CoreV1Api)
  const resource = kc.makeApiClient(ResourceV1Api)
  const sfx = randomSuffix()
  const node = `ndra-pl-${sfx}`
  const ns = `ndra-pl-${sfx}`
  await core.createNamespace({ body: { metadata: { name: ns } } })
  t.teardown(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined)
  })

  const network = {
    name: 'pl',
    cniVersion: '1.0.0',
    plugins: [
      { type: 'bridge', bridge: 'br-pl', ipam: { type: 'host-local', subnet: '10.9.1.0/24' } },
    ],
  }
  const forParent = cni({ network })
  const forChosen = cni({ interfaceName: 'net5' })
  const forOther = cni({ interfaceName: 'net9' })
  const created = await resource.createNamespacedResourceClaim({
    namespace: ns,
    body: {
      metadata: {
        name: 'pod-pl-net-abcde',
        annotations: { 'resource.kubernetes.io/pod-claim-name': 'net' },
      },
      spec: {
        devices: {
          requests: [
            {
              name: 'nic',
              firstAvailable: [
                { name: 'sriov', deviceClassName: 'network-dra-sriov' },
                { name: 'macvlan', deviceClassName: 'network-dra' },
              ],
            },
          ],
          config: [
            { requests: ['nic'], opaque: { driver: DRIVER, parameters: forParent } },
            { requests: ['nic/macvlan'], opaque: { driver: DRIVER, parameters: forChosen } },
            { requests: ['nic/sriov'], opaque: { driver: DRIVER, parameters: forOther } },
          ],
        },
      },
    },
  })
  const allocation = (request: string) => ({
    devices: {
      results: [{ request, driver: DRIVER, pool: node, device: 'attachment-0' }],
      config: [
        // What the allocator copies: the class config of the chosen subrequest, then the claim
        // entries naming the parent or the chosen subrequest. The `nic/sriov` entry is not
        // copied by the allocator; it is added here to prove the driver would not apply it.
        {
          source: 'FromClass',
          requests: [request],
          opaque: { driver: DRIVER, parameters: cni({ cniArgs: { FROM_CLASS: '1' } }) },
        },
        {
          source: 'FromClaim',
          requests: ['nic'],
          opaque: { driver: DRIVER, parameters: forParent },
        },
        {
          source: 'FromClaim',
          requests: ['nic/macvlan'],
          opaque: { driver: DRIVER, parameters: forChosen },
        },
        {
          source: 'FromClaim',
          requests: ['nic/sriov'],
          opaque: { driver: DRIVER, parameters: forOther },
        },
      ],
    },
    nodeSelector: {
      nodeSelectorTerms: [
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
      ],
    },
  })

  // The API server checks result names against the spec: an unknown subrequest is refused.
  const bogus = structuredClone(created)
  bogus.status = { allocation: allocation('nic/bogus') }
  await t.rejects(
    resource.replaceNamespacedResourceClaimStatus({
      name: 'pod-pl-net-abcde',
      namespace: ns,
      body: bogus,
    }),
    /nic\/bogus/,
    'an allocation naming an unknown subrequest is refused',
  )

  created.status = {
    allocation: allocation('nic/macvlan'),
    reservedFor: [{ resource: 'pods', name: 'p1', uid: '11111111-2222-3333-4444-555555555555' }],
  }
  const allocated: ResourceV1ResourceClaim = await resource.replaceNamespacedResourceClaimStatus({
    name: 'pod-pl-net-abcde',
    namespace: ns,
    body: created,
  })
  t.equal(allocated.status?.allocation?.devices?.results?.[0]?.request, 'nic/macvlan')

  const policy = {
    ...DEFAULT_POLICY,
    tenantNetworkNamespaces: [ns],
    allowedBridges: ['br-pl'],
    allowedCIDRs: ['10.9.1.0/24'],
  }
  const plans = buildAttachmentPlans({
    claim: allocated,
    driverName: DRIVER,
    nodeName: node,
    policy,
    hostInterface: () => undefined,
  })
  t.equal(plans.length, 1)
  t.match(plans[0], {
    request: 'nic',
    requestRef: 'nic/macvlan',
    device: 'attachment-0',
    ifName: 'net5',
    networkConfig: { name: network.name },
    cniArgs: [['FROM_CLASS', '1']],
  })

  // CDI and the kubelet see the main request; the metadata file path too, its content the full one.
  const podClaimName = podClaimNameOf(allocated.metadata?.annotations)
  t.equal(podClaimName, 'net')
  const files = new DeviceMetadataFiles({ root: '/m', driverName: DRIVER, versions: ['v1beta1'] })
  const record = {
    uid: allocated.metadata?.uid ?? '',
    namespace: ns,
    name: 'pod-pl-net-abcde',
    ...(podClaimName !== undefined ? { podClaimName } : {}),
    plans,
    cdiDeviceIds: [],
    attachments: [],
    preparedAt: new Date().toISOString(),
  }
  t.match(cdiDevicesOf(record, files), [
    {
      device: 'attachment-0',
      request: 'nic',
      mounts: [
        {
          containerPath:
            '/var/run/kubernetes.io/dra-device-attributes/resourceclaimtemplates/net/nic/network-dra.dev-metadata.json',
        },
      ],
    },
  ])

  // Status for the subrequest's device is accepted.
  const writer = new ClaimStatusWriter({
    client: kubeStatusClient(kc),
    driverName: DRIVER,
    clock: systemClock,
    logger: silentLogger(),
    baseDelayMs: 50,
  })
  const ref = {
    namespace: ns,
    name: 'pod-pl-net-abcde',
    uid: allocated.metadata?.uid ?? '',
    generation: allocated.metadata?.generation,
  }
  const result = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'net5', mac: '02:00:00:00:00:05', sandbox: '/var/run/netns/x' }],
    ips: [{ address: '10.9.1.5/24', interface: 0 }],
  }
  await writer.write(ref, [
    {
      pool: node,
      device: 'attachment-0',
      ready: true,
      reason: 'NetworkReady',
      message: 'net5 attached',
      result,
      networkData: {
        interfaceName: 'net5',
        ips: ['10.9.1.5/24'],
        hardwareAddress: '02:00:00:00:00:05',
      },
    },
  ])
  const after = await resource.readNamespacedResourceClaimStatus({
    name: 'pod-pl-net-abcde',
    namespace: ns,
  })
  t.equal(after.status?.devices?.length, 1)
  t.match(after.status?.devices?.[0], {
    driver: DRIVER,
    pool: node,
    device: 'attachment-0',
    networkData: { interfaceName: 'net5', ips: ['10.9.1.5/24'] },
    conditions: [{ type: 'Ready', status: 'True', reason: 'NetworkReady' }],
  })
})
