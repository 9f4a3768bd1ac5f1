// Invariant: claim status is derived from the state file and never lost, against a real
// kube-apiserver: the reconcile re-applies this driver's status.devices entries of every held
// claim when they are missing (a write lost to a crash), wiped by a user, or stale, keeps other
// drivers' entries, leaves a correct status untouched (no write), and treats a deleted claim as
// gone; a state change made by another instance (a second ClaimLedger on the same file) is picked up;
// the status write that follows an attach is awaited by drain() (what shutdown does on SIGTERM).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  ResourceV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node'
import { StatusObserver } from '../../src/driver/status-observer.js'
import { silentLogger } from '../../src/logger.js'
import { systemClock } from '../../src/slices/clock.js'
import {
  ClaimLedger,
  type AttachmentTarget,
  type PreparedClaim,
} from '../../src/state/claim-ledger.js'
import { ClaimStatusWriter } from '../../src/status/claim-status.js'
import { kubeStatusClient } from '../../src/status/kube-status-client.js'
import { randomSuffix } from './lib/netns.js'

/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   request bodies are plain objects: the client serialises by attribute maps, not class identity */

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const DRIVER = 'network-dra.dev'
const OTHER = 'gpu.example.com'
const KUBECONFIG_ENV = 'NDRA_CP_KUBECONFIG'

async function kubeconfigPath(): Promise<string | undefined> {
  const fromEnv = process.env[KUBECONFIG_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  try {
    const { stdout } = await run('bash', [
      join(root, 'scripts/cluster/control-plane.sh'),
      'kubeconfig',
    ])
    return stdout.trim()
  } catch {
    return undefined
  }
}

function attachment(ns: string, ip: string): AttachmentTarget {
  return {
    sandboxId: `sb-${ip}`,
    podUid: 'pod-uid',
    podName: 'pod',
    podNamespace: ns,
    request: 'net',
    device: 'attachment-0',
    ifName: 'net1',
    netns: '/run/netns/x',
    networkName: 'n',
  }
}

function result(ip: string) {
  return {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/run/netns/x' }],
    ips: [{ address: `${ip}/24`, interface: 0 }],
  }
}

t.test('status reconcile against a real API server', { timeout: 120_000 }, async t => {
  const kubeconfig = await kubeconfigPath()
  if (kubeconfig === undefined) {
    t.fail(`no control plane: run \`bash scripts/integration.sh\` or set ${KUBECONFIG_ENV}`)
    return
  }
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  const core = kc.makeApiClient(CoreV1Api)
  const resource = kc.makeApiClient(ResourceV1Api)
  const sfx = randomSuffix()
  const node = `ndra-sr-${sfx}`
  const ns = `ndra-sr-${sfx}`
  await core.createNamespace({ body: { metadata: { name: ns } } })
  t.teardown(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined)
  })
  const dir = await mkdtemp(join(tmpdir(), 'ndra-sr-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))

  // Claims allocated as the scheduler would: one device of ours, one of another driver.
  const makeClaim = async (name: string): Promise<PreparedClaim> => {
    const created = await resource.createNamespacedResourceClaim({
      namespace: ns,
      body: {
        metadata: { name },
        spec: {
          devices: {
            requests: [
              { name: 'net', exactly: { deviceClassName: `attachment.${DRIVER}` } },
              { name: 'gpu', exactly: { deviceClassName: 'gpu' } },
            ],
          },
        },
      },
    })
    created.status = {
      allocation: {
        devices: {
          results: [
            { request: 'net', driver: DRIVER, pool: node, device: 'attachment-0' },
            { request: 'gpu', driver: OTHER, pool: node, device: 'gpu-0' },
          ],
        },
        nodeSelector: {
          nodeSelectorTerms: [
            { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
          ],
        },
      },
      reservedFor: [{ resource: 'pods', name: 'pod', uid: '0b3c4d5e-0000-4000-8000-000000000001' }],
    }
    await resource.replaceNamespacedResourceClaimStatus({ name, namespace: ns, body: created })
    const uid = created.metadata?.uid ?? ''
    return {
      uid,
      namespace: ns,
      name,
      plans: [
        {
          request: 'net',
          pool: node,
          device: 'attachment-0',
          networkConfig: { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }] },
          ifName: 'net1',
          capabilityArgs: {},
          cniArgs: [],
        },
      ],
      cdiDeviceIds: [`${DRIVER}/net=${uid}-attachment-0`],
    }
  }
  const lost = await makeClaim('lost')
  const pending = await makeClaim('pending')

  const ledger = await ClaimLedger.open({ dir })
  t.teardown(() => ledger.close())
  // The other plugin instance of a rolling update records the attachments in the shared file.
  const peer = await ClaimLedger.open({ dir })
  t.teardown(() => peer.close())
  await peer.prepared(lost)
  await peer.attached(lost.uid, attachment(ns, '10.9.0.5'), result('10.9.0.5'))
  await peer.prepared(pending)
  const writer = new ClaimStatusWriter({
    client: kubeStatusClient(kc),
    driverName: DRIVER,
    clock: systemClock,
    logger: silentLogger(),
  })
  const observer = new StatusObserver({
    claims: ledger,
    writer,
    events: { attachFailed: async () => undefined },
    logger: silentLogger(),
  })
  const statusOf = async (name: string) =>
    (await resource.readNamespacedResourceClaimStatus({ name, namespace: ns })).status?.devices ??
    []
  const ours = async (name: string) => (await statusOf(name)).filter(d => d.driver === DRIVER)

  const jsonPatch = async (name: string, ops: unknown[]): Promise<void> => {
    await resource.patchNamespacedResourceClaimStatus(
      { name, namespace: ns, body: ops },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )
  }
  // Another driver's entry must survive every reconcile.
  await jsonPatch('lost', [
    { op: 'add', path: '/status/devices', value: [{ driver: OTHER, pool: node, device: 'gpu-0' }] },
  ])
  t.same(
    (await statusOf('lost')).map(d => d.driver),
    [OTHER],
  )

  // 1. Start-up reconcile: the write lost with the old instance is re-derived from the file.
  const first = await observer.reconcile()
  t.same(first, { claims: 2, unchanged: 0, written: 2, gone: 0, failed: 0 })
  const restored = await ours('lost')
  t.equal(restored.length, 1)
  t.same(restored[0]?.networkData?.ips, ['10.9.0.5/24'])
  t.equal(restored[0]?.networkData?.interfaceName, 'net1')
  t.equal(restored[0]?.conditions?.find(c => c.type === 'Ready')?.status, 'True')
  t.same(
    (await statusOf('lost')).map(d => d.driver).sort(),
    [DRIVER, OTHER].sort(),
    "the other driver's entry is kept",
  )
  t.equal((await ours('pending'))[0]?.conditions?.find(c => c.type === 'Ready')?.reason, 'Pending')
  const readyTime = restored[0]?.conditions?.[0]?.lastTransitionTime

  // 2. Nothing differs: no write.
  t.same(await observer.reconcile(), { claims: 2, unchanged: 2, written: 0, gone: 0, failed: 0 })

  // 3. A user wipes our entry, another changes an IP: both fixed, the other driver's entry kept.
  const wipe = async (name: string, devices: unknown[]): Promise<void> => {
    const c = await resource.readNamespacedResourceClaimStatus({ name, namespace: ns })
    await jsonPatch(name, [
      { op: 'test', path: '/metadata/resourceVersion', value: c.metadata?.resourceVersion },
      { op: 'replace', path: '/status/devices', value: devices },
    ])
  }
  await wipe('lost', [{ driver: OTHER, pool: node, device: 'gpu-0' }])
  const stale = (await statusOf('pending')).map(d =>
    d.driver === DRIVER
      ? {
          ...(JSON.parse(JSON.stringify(d)) as Record<string, unknown>),
          networkData: { ips: ['10.1.1.1/24'] },
        }
      : d,
  )
  await wipe('pending', stale)
  t.same(await observer.reconcile(), { claims: 2, unchanged: 0, written: 2, gone: 0, failed: 0 })
  t.same((await ours('lost'))[0]?.networkData?.ips, ['10.9.0.5/24'], 'wiped entry restored')
  t.equal((await ours('pending'))[0]?.networkData, undefined, 'stale networkData removed')
  t.same((await statusOf('lost')).map(d => d.driver).sort(), [DRIVER, OTHER].sort())
  t.ok(readyTime, 'has a transition time')

  // 4. The attach-triggered write is awaited by drain(), as shutdown does after the hook reply.
  await peer.attached(pending.uid, attachment(ns, '10.9.0.6'), result('10.9.0.6'))
  await ledger.refresh()
  void observer.onAttached({
    claimUid: pending.uid,
    claimNamespace: ns,
    claimName: 'pending',
    request: 'net',
    device: 'attachment-0',
    pod: { sandboxId: 'sb', podUid: 'pod-uid', podName: 'pod', podNamespace: ns },
    ifName: 'net1',
    result: {},
    interfaceName: 'net1',
    ips: ['10.9.0.6/24'],
  })
  t.equal(await observer.drain(20_000), 0, 'drained within the budget')
  t.same(
    (await ours('pending'))[0]?.networkData?.ips,
    ['10.9.0.6/24'],
    'written before drain returned',
  )

  // 5. A deleted claim is gone, not a failure.
  await resource.deleteNamespacedResourceClaim({ name: 'lost', namespace: ns })
  // The claim has no finalizer here, so it disappears at once.
  const after = await observer.reconcile()
  t.equal(after.gone, 1)
  t.equal(after.failed, 0)
})
