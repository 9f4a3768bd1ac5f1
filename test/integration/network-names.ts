// Invariant (issue 7 contract §6): a claim that calls its network `cbr0` runs, with the real Debian
// CNI plugins, as `ndra.ns.<namespace>.cbr0`: host-local keeps its reservation in its own directory
// and never reads or writes the `cbr0` directory of a decoy network that already holds a
// reservation; and start-up GC (Attacher.garbageCollect, as recovery runs it) leaves a foreign
// network's result-cache entries and IPAM state alone — even an entry carrying our claim marker
// for a claim we do not know, and even when a legacy state record names `cbr0` — while it still
// cleans up an orphan of its own `ndra.` network.
//
// Isolation: every plugin runs in a private mount namespace where a temp dir is bind-mounted on
// /var/lib/cni/networks (host-local's default data dir, which a claim may not change), so the test
// exercises the real default path without touching the node's IPAM state. Links are a bridge and
// veths the plugins create for a netns the test made; the bridge is deleted at the end.
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { FsNetnsProbe } from '../../src/attach/attach-netns-probe.js'
import { Attacher } from '../../src/attach/attacher.js'
import { CLAIM_UID_CNI_ARG } from '../../src/attach/attachment-cni.js'
import { AttachmentGc } from '../../src/attach/attachment-gc.js'
import { Detacher } from '../../src/attach/detacher.js'
import { RequestLocks } from '../../src/attach/request-locks.js'
import { PodResolver } from '../../src/attach/pod-resolver.js'
import { buildAttachmentPlans } from '../../src/claims/plan-builder.js'
import { parsePolicy } from '../../src/claims/policy.js'
import type { ResourceClaimV1 } from '../../src/claims/resource-claim.js'
import { ResultCache } from '../../src/cni/cache.js'
import { ProcessExec, type CniExec, type ExecOptions } from '../../src/cni/exec.js'
import { CniRuntime } from '../../src/cni/runtime.js'
import { silentLogger } from '../../src/logger.js'
import { ClaimLedger } from '../../src/state/claim-ledger.js'
import type { ClaimRecord } from '../../src/state/state-types.js'
import { addresses, createNetns, deleteLink, deleteNetns, randomSuffix } from './lib/netns.js'

const DRIVER = 'network-dra.dev'
const NODE = 'node-nn'
const HOST_NETWORKS = '/var/lib/cni/networks'
const SUBNET = '10.99.0.0/24'

/** Records every plugin run (command and network name) and passes it to the real executor. */
class RecordingExec implements CniExec {
  readonly runs: { command: string; network: string; type: string }[] = []
  constructor(readonly inner: CniExec) {}
  findInPath(type: string, dirs: readonly string[]): Promise<string> {
    return this.inner.findInPath(type, dirs)
  }
  execPlugin(
    path: string,
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<Uint8Array> {
    const conf = JSON.parse(Buffer.from(stdin).toString('utf8')) as { name?: string }
    this.runs.push({
      command: env['CNI_COMMAND'] ?? '',
      network: conf.name ?? '',
      type: path.slice(path.lastIndexOf('/') + 1),
    })
    return this.inner.execPlugin(path, stdin, env, opts)
  }
  runCommand(
    argv: readonly string[],
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<string> {
    return this.inner.runCommand(argv, env, opts)
  }
}

/** Every file under `dir` with its content, for before/after comparison. */
async function snapshotDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath, e.name)
      out[p.slice(dir.length)] = await readFile(p, 'utf8')
    }
  }
  return out
}

t.test('a claim network named cbr0 never shares state with the cbr0 network', async t => {
  const sfx = randomSuffix()
  const ns = `ndra-nn-${sfx}`
  const tmp = await mkdtemp(join(tmpdir(), 'ndra-nn-'))
  t.teardown(() => rm(tmp, { recursive: true, force: true }))
  const networks = join(tmp, 'networks')
  const cacheDir = join(tmp, 'cache')
  await mkdir(networks)
  // The mount point must exist; whatever the test creates for it goes again (empty dirs only).
  const created = await mkdir(HOST_NETWORKS, { recursive: true })
  t.teardown(async () => {
    if (created === undefined) return
    await rmdir(HOST_NETWORKS).catch(() => undefined)
    if (created !== HOST_NETWORKS) await rmdir(created).catch(() => undefined)
  })

  // --- the decoy: network "cbr0" with one reservation and two cache entries of its own ------------
  const decoyDir = join(networks, 'cbr0')
  await mkdir(decoyDir)
  await writeFile(join(decoyDir, '10.99.0.2'), 'decoyctr\r\neth0')
  await writeFile(join(decoyDir, 'last_reserved_ip.0'), '10.99.0.2')
  await writeFile(join(decoyDir, 'lock'), '')
  const decoyConf = {
    cniVersion: '1.0.0',
    name: 'cbr0',
    plugins: [{ type: 'ptp', ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]] } }],
  }
  const decoyEntry = (containerId: string, cniArgs: [string, string][]) => ({
    containerId,
    networkName: 'cbr0',
    ifName: 'eth0',
    config: new TextEncoder().encode(JSON.stringify(decoyConf)),
    netns: '',
    cniArgs,
    capabilityArgs: {},
    result: { cniVersion: '1.0.0', ips: [{ address: '10.99.0.2/24' }] },
  })
  const cache = new ResultCache(cacheDir)
  await cache.write(decoyEntry('decoyctr', [['K8S_POD_NAME', 'cluster-pod']]))
  // Our marker for a claim we do not know, on a network that is not ours (a tenant's cniArgs could
  // forge it before NDRA_* keys were refused): GC must still leave it alone.
  await cache.write(decoyEntry('forged', [[CLAIM_UID_CNI_ARG, randomUUID()]]))
  const decoyBefore = await snapshotDir(decoyDir)
  const cacheBefore = (await readdir(join(cacheDir, 'results'))).sort()

  // --- the runtime: real plugins, host-local's default dir bind-mounted from the temp dir --------
  const exec = new RecordingExec(
    new ProcessExec({
      wrapper: [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        `mount --bind '${networks}' ${HOST_NETWORKS} && exec "$0"`,
      ],
    }),
  )
  const cni = new CniRuntime({
    binDirs: ['/usr/lib/cni'],
    cacheDir,
    pluginTimeoutMs: 20_000,
    exec,
    parentEnv: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  })
  const ledger = await ClaimLedger.open({ dir: join(tmp, 'state') })
  t.teardown(() => ledger.close())
  const probe = new FsNetnsProbe()
  const locks = new RequestLocks()
  const attacher = new Attacher({
    ledger,
    cni,
    resolver: new PodResolver({ probe }),
    probe,
    locks,
    logger: silentLogger(),
  })
  const detacher = new Detacher({ ledger, cni, probe, locks, logger: silentLogger() })
  const gc = new AttachmentGc({ ledger, cni, probe, detacher, logger: silentLogger() })

  // --- two claims in one namespace, both calling their network cbr0 -------------------------------
  const bridge = `ndnn${sfx}`
  t.teardown(() => deleteLink(bridge))
  // The demo allowance: this namespace may write a raw network on the test's bridge and subnet.
  const policy = parsePolicy({
    tenantNetworkNamespaces: [ns],
    allowedBridges: [bridge],
    allowedCIDRs: [SUBNET],
  })
  const prepare = async (name: string): Promise<ClaimRecord> => {
    const uid = randomUUID()
    const claim: ResourceClaimV1 = {
      metadata: { name, namespace: ns, uid },
      status: {
        allocation: {
          devices: {
            results: [{ request: 'net', driver: DRIVER, pool: NODE, device: 'attachment-0' }],
            config: [
              {
                source: 'FromClaim',
                opaque: {
                  driver: DRIVER,
                  parameters: {
                    apiVersion: `${DRIVER}/v1alpha1`,
                    kind: 'CNIConfig',
                    interfaceName: 'net1',
                    network: {
                      cniVersion: '1.0.0',
                      name: 'cbr0',
                      plugins: [
                        {
                          type: 'bridge',
                          bridge,
                          ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]] },
                        },
                      ],
                    },
                  },
                },
              },
            ],
          },
        },
      },
    }
    const plans = buildAttachmentPlans({
      claim,
      driverName: DRIVER,
      nodeName: NODE,
      policy,
      hostInterface: () => undefined,
    })
    return ledger.prepared({ uid, namespace: ns, name, plans, cdiDeviceIds: [] })
  }
  const attach = async (record: ClaimRecord): Promise<{ netnsName: string; sandbox: string }> => {
    const netns = await createNetns(`ndra-nn-${randomSuffix()}`)
    t.teardown(() => deleteNetns(netns.name))
    const sandbox = `sb${randomSuffix(8)}`
    const bundle = join(tmp, sandbox)
    await mkdir(bundle)
    const annotations = {
      'io.kubernetes.cri.container-type': 'sandbox',
      'io.kubernetes.cri.sandbox-id': sandbox,
      'io.kubernetes.cri.sandbox-uid': randomUUID(),
      'io.kubernetes.cri.sandbox-name': `pod-${record.name}`,
      'io.kubernetes.cri.sandbox-namespace': ns,
    }
    await writeFile(
      join(bundle, 'config.json'),
      JSON.stringify({
        ociVersion: '1.2.1',
        annotations,
        linux: { namespaces: [{ type: 'network', path: netns.path }] },
      }),
    )
    const reply = await attacher.attach(
      {
        claimUid: record.uid,
        request: 'net',
        device: 'attachment-0',
        state: { ociVersion: '1.2.1', id: sandbox, status: 'creating', bundle, annotations },
      },
      AbortSignal.timeout(60_000),
    )
    t.ok(reply.ok, `attach of ${record.name}: ${reply.message}`)
    return { netnsName: netns.name, sandbox }
  }

  const a = await prepare('a')
  const b = await prepare('b')
  const derived = `ndra.ns.${ns}.cbr0`
  t.equal(a.plans[0]?.networkConfig['name'], derived, 'the plan carries the derived name')
  const podA = await attach(a)
  const podB = await attach(b)

  const ours = join(networks, derived)
  const reservations = async (): Promise<string[]> =>
    (await readdir(ours).catch(() => [] as string[])).filter(f => /^\d/.test(f)).sort()
  const addrA = await addresses(podA.netnsName, 'net1')
  const addrB = await addresses(podB.netnsName, 'net1')
  t.equal(addrA.length, 1)
  t.equal(addrB.length, 1)
  t.not(addrA[0], addrB[0], 'claims of one namespace share host-local state: distinct addresses')
  t.same(
    await reservations(),
    [addrA[0], addrB[0]].map(x => x?.split('/')[0] ?? '').sort(),
    `both reservations are in ${derived}`,
  )
  t.same(await snapshotDir(decoyDir), decoyBefore, 'the decoy cbr0 directory is untouched')
  t.same(
    (await readdir(networks)).sort(),
    ['cbr0', derived].sort(),
    'no other IPAM directory was created',
  )
  t.ok(
    exec.runs.every(r => r.network === derived),
    `every plugin run saw only the derived name (${[...new Set(exec.runs.map(r => r.network))].join(', ')})`,
  )

  // --- start-up GC --------------------------------------------------------------------------------
  // A legacy record (written before names were derived) that names cbr0, still valid; and claim b's
  // record lost (as after a crash between ADD and the state write): its cache entry is an orphan of
  // our own network and must be DELeted.
  const legacyUid = randomUUID()
  const aPlan = a.plans[0]
  if (aPlan === undefined) throw new Error('claim a has no plan')
  await ledger.prepared({
    uid: legacyUid,
    namespace: a.namespace,
    name: 'legacy',
    plans: [{ ...aPlan, networkConfig: { ...aPlan.networkConfig, name: 'cbr0' } }],
    cdiDeviceIds: a.cdiDeviceIds,
  })
  await ledger.dropped(b.uid)
  exec.runs.length = 0
  const report = await gc.garbageCollect([a.uid, legacyUid])
  t.same(report.errors, [], 'GC without errors')
  t.same(
    report.deletedCacheEntries,
    [`${derived}-${podB.sandbox}-net1`],
    'the orphan of our own network was DELeted',
  )
  t.same(
    exec.runs.filter(r => r.network !== derived),
    [],
    'no plugin ran for any network but ours (no DEL, no GC of cbr0)',
  )
  t.same(await snapshotDir(decoyDir), decoyBefore, 'the decoy reservation survived GC')
  const cacheAfter = (await readdir(join(cacheDir, 'results'))).sort()
  t.same(
    cacheAfter.filter(f => f.startsWith('cbr0-')),
    cacheBefore,
    "the foreign network's cache entries survived GC, the forged marker included",
  )
  t.same(await reservations(), [addrA[0]?.split('/')[0]], "claim b's address was released")

  // --- unprepare ----------------------------------------------------------------------------------
  await detacher.detachClaim(a.uid)
  t.same(await reservations(), [], 'detach released claim a')
  t.same(await snapshotDir(decoyDir), decoyBefore, 'the decoy is still untouched')
})
