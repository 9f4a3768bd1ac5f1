// Invariant: the real daemon (dist/src/main.js, the shipped entrypoint and Driver), started with
// every path in a temp dir against a real kube-apiserver, behaves as the kubelet and the cluster
// expect: it registers exactly as the kubelet's plugin watcher requires; it publishes 128
// attachment devices for its node and re-creates them after a kubelet-style wipe; /readyz turns
// 200 only after registration and slices; NodePrepareResources writes the CDI spec and the state
// entry, is idempotent, and answers every bad claim (unknown CNIConfig field, policy violation,
// not allocated, cniVersion 99.0.0 or one the real plugins do not list, a claim its pod lists in
// spec.resourceClaims but no container uses — refused with a Warning Event on that pod naming the
// fix) with a per-claim error that says what to fix; the hook executable named in the
// CDI spec attaches a real bridge interface into a network namespace and the daemon writes the
// claim's networkData and Ready condition, accepted by the API server; unprepare undoes it all;
// SIGTERM exits 0 and removes the sockets.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import {
  CoreV1Api,
  KubeConfig,
  ResourceV1Api,
  type ResourceV1ResourceClaim,
} from '@kubernetes/client-node'
import { hookDeadlineMs } from '../../src/cdi/spec-writer.js'
import { loadConfig } from '../../src/config.js'
import { KubeletEmulator, type ClaimWire, type PrepareReply } from '../fakes/kubelet-emulator.js'
import {
  HOOK,
  KUBECONFIG_ENV,
  MAIN,
  ensureBuilt,
  freePort,
  httpGet,
  kubeconfigPath,
  waitFor,
} from './lib/daemon.js'
import {
  addresses,
  createNetns,
  deleteLink,
  deleteNetns,
  linkExists,
  randomSuffix,
} from './lib/netns.js'

/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   request bodies are plain objects: the client serialises by attribute maps, not class identity */

const DRIVER = 'network-dra.dev'
const API = `${DRIVER}/v1alpha1`
const SUBNET = '198.51.100.0/24'

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

interface HookRun {
  code: number | null
  stderr: string
}

/** Run a CDI hook exactly as runc does: path, args (args[0] = argv0), OCI state on stdin. */
function runHook(path: string, args: readonly string[], stdin: string): Promise<HookRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args.slice(1), {
      argv0: args[0] ?? path,
      stdio: ['pipe', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', code => {
      resolve({ code, stderr })
    })
    child.stdin.end(stdin)
  })
}

interface CdiHook {
  hookName: string
  path: string
  args: string[]
  timeout?: number
}
interface CdiSpecFile {
  cdiVersion: string
  kind: string
  devices: { name: string; containerEdits: { hooks?: CdiHook[] } }[]
}
interface StateFile {
  apiVersion: string
  kind: string
  claims: Record<
    string,
    {
      uid: string
      namespace: string
      name: string
      plans: { request: string; device: string; pool: string; ifName: string }[]
      cdiDeviceIds: string[]
      attachments: { phase: string; ifName: string; podUid: string; sandboxId: string }[]
    }
  >
}

t.test('real daemon driven like the kubelet', { timeout: 240_000 }, async t => {
  const kubeconfig = await kubeconfigPath()
  if (kubeconfig === undefined) {
    t.fail(
      `no control plane: run \`bash scripts/test/integration.sh\` or set ${KUBECONFIG_ENV} (scripts/cluster/control-plane.sh up)`,
    )
    return
  }
  ensureBuilt()

  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  const core = kc.makeApiClient(CoreV1Api)
  const resource = kc.makeApiClient(ResourceV1Api)

  const sfx = randomSuffix()
  const node = `ndra-dk-${sfx}`
  const ns = `ndra-dk-${sfx}`
  const selector = `spec.nodeName=${node},spec.driver=${DRIVER}`
  const tmp = await mkdtemp(join(tmpdir(), 'ndra-dk-'))
  t.teardown(() => rm(tmp, { recursive: true, force: true }))
  const dirs = {
    registrar: join(tmp, 'plugins_registry'),
    plugins: join(tmp, 'plugins'),
    cdi: join(tmp, 'cdi'),
    state: join(tmp, 'state'),
    hookSocket: join(tmp, 'hook', 'hook.sock'),
    cni: join(tmp, 'cni'),
    ipam: join(tmp, 'ipam'),
    policy: join(tmp, 'policy.yaml'),
    log: join(tmp, 'daemon.log'),
  }
  await mkdir(dirs.registrar, { recursive: true })
  await mkdir(dirs.plugins, { recursive: true })
  // The test's own policy (v2): the test namespace may write raw networks on bridge br-x inside
  // the test subnet; ptp (allowed by default) is left out, so a claim using it proves the file was
  // loaded.
  await writeFile(
    dirs.policy,
    [
      `tenantNetworkNamespaces: [${ns}]`,
      'allowedPluginTypes: [bridge, host-local, macvlan, static]',
      'allowedBridges: [br-x]',
      `allowedCIDRs: [${SUBNET}]`,
      '',
    ].join('\n'),
  )

  await core.createNode({ body: { metadata: { name: node } } })
  t.teardown(async () => {
    await resource.deleteCollectionResourceSlice({ fieldSelector: selector }).catch(() => undefined)
    await core.deleteNode({ name: node }).catch(() => undefined)
  })
  await core.createNamespace({ body: { metadata: { name: ns } } })
  t.teardown(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined)
  })

  // --- start the daemon ---------------------------------------------------------------------------
  const port = await freePort()
  const logFd = openSync(dirs.log, 'w')
  const daemon: ChildProcess = spawn(
    process.execPath,
    [
      MAIN,
      '--kubeconfig',
      kubeconfig,
      '--node-name',
      node,
      '--kubelet-registrar-dir',
      dirs.registrar,
      '--kubelet-plugins-dir',
      dirs.plugins,
      '--cdi-root',
      dirs.cdi,
      '--state-dir',
      dirs.state,
      '--hook-socket',
      dirs.hookSocket,
      '--hook-path',
      HOOK,
      '--cni-cache-dir',
      dirs.cni,
      '--http-address',
      `127.0.0.1:${port}`,
      '--policy-file',
      dirs.policy,
      '--log-level',
      'debug',
    ],
    { stdio: ['ignore', logFd, logFd], env: { ...process.env, KUBECONFIG: '' } },
  )
  closeSync(logFd)
  const exited = new Promise<Exit>(resolve => {
    daemon.once('exit', (code, signal) => {
      resolve({ code, signal })
    })
  })
  let daemonExit: Exit | undefined
  void exited.then(e => (daemonExit = e))
  t.teardown(async () => {
    if (daemonExit === undefined && daemon.pid !== undefined) {
      process.kill(daemon.pid, 'SIGKILL')
      await exited
    }
    if (!t.passing()) {
      const log = await readFile(dirs.log, 'utf8').catch(() => '')
      t.comment(`daemon log (last 60 lines):\n${log.split('\n').slice(-60).join('\n')}`)
    }
  })
  const alive = (): void => {
    if (daemonExit !== undefined) {
      throw new Error(`daemon exited early (${JSON.stringify(daemonExit)}); see ${dirs.log}`)
    }
  }

  // Before any kubelet talks to it, the daemon is up but not ready.
  const notReady = await waitFor('the HTTP server', async () => {
    alive()
    return httpGet(port, '/readyz')
  })
  t.equal(notReady.status, 503, '/readyz is 503 before the kubelet confirms the registration')
  t.match(notReady.body, /registration/)
  t.equal((await httpGet(port, '/healthz')).status, 200, '/healthz is 200 while unregistered')

  // --- registration, as the kubelet's plugin watcher does it ----------------------------------------
  const kubelet = new KubeletEmulator()
  t.teardown(() => kubelet.close())
  await kubelet.watch(dirs.registrar)
  const plugin = await kubelet.waitForPlugin(DRIVER, 20_000)
  t.equal(plugin.registrationSocket, join(dirs.registrar, `${DRIVER}-reg.sock`))
  t.equal(plugin.endpoint, join(dirs.plugins, DRIVER, 'dra.sock'))
  t.equal(plugin.service, 'v1.DRAPlugin', 'kubelet picks the v1 DRA service')
  t.same(
    kubelet.events.map(e => e.ok),
    [true],
    'one registration, accepted',
  )
  await waitFor('/readyz 200', async () => {
    const r = await httpGet(port, '/readyz')
    return r.status === 200 ? r : undefined
  })
  t.pass('/readyz is 200 after registration and slices')

  // --- ResourceSlices -------------------------------------------------------------------------------
  const slicesDevices = async (): Promise<string[]> =>
    (await resource.listResourceSlice({ fieldSelector: selector })).items.flatMap(s =>
      (s.spec.devices ?? []).map(d => d.name),
    )
  const wantDevices = Array.from({ length: 128 }, (_, i) => `attachment-${i}`)
  const published = await resource.listResourceSlice({ fieldSelector: selector })
  t.equal(published.items.length, 1, 'one slice holds 128 devices')
  const slice = published.items[0]
  t.equal(slice?.spec.pool.name, node, 'pool = node name')
  t.equal(slice?.spec.nodeName, node)
  t.equal(slice?.spec.driver, DRIVER)
  t.same((await slicesDevices()).sort(), [...wantDevices].sort(), 'attachment-0..127')
  const gen0 = slice?.spec.pool.generation ?? -1

  await resource.deleteCollectionResourceSlice({ fieldSelector: selector })
  const wipedAt = performance.now()
  t.same(await slicesDevices(), [], 'kubelet-style wipe removed them')
  const recreated = await waitFor('re-created slices', async () => {
    alive()
    const l = await resource.listResourceSlice({ fieldSelector: selector })
    const n = l.items.flatMap(s => s.spec.devices ?? []).length
    return n === 128 ? l : undefined
  })
  t.comment(`slices re-created ${(performance.now() - wipedAt).toFixed(0)} ms after the wipe`)
  t.ok(
    recreated.items.every(s => s.spec.pool.generation > gen0),
    'the running daemon re-created them with a newer generation',
  )

  // --- claims, allocated as the scheduler would ----------------------------------------------------
  const bridge = `ndbr${sfx}`
  const netName = `ndra-dk-${sfx}`
  t.teardown(() => deleteLink(bridge))
  const classNetwork = {
    apiVersion: API,
    kind: 'CNIConfig',
    network: {
      cniVersion: '1.0.0',
      name: netName,
      plugins: [
        {
          type: 'bridge',
          bridge,
          ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: dirs.ipam },
        },
      ],
    },
  }
  interface ClaimOpts {
    device?: string
    claimParams?: Record<string, unknown>
    classParams?: Record<string, unknown>
    allocate?: boolean
    /** The real pod that reserves the claim (default: a pod that does not exist). */
    pod?: { name: string; uid: string }
  }
  /** A pod naming claim `claimName` as spec.resourceClaims entry `net`; `uses`: its container lists it. */
  const makePod = async (name: string, claimName: string, uses: boolean) => {
    // The namespace's default ServiceAccount (which admission requires) appears shortly after it.
    const pod = await waitFor(`pod ${name} created`, async () =>
      core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            automountServiceAccountToken: false,
            resourceClaims: [{ name: 'net', resourceClaimName: claimName }],
            containers: [
              {
                name: 'app',
                image: 'registry.k8s.io/pause:3.10',
                ...(uses ? { resources: { claims: [{ name: 'net' }] } } : {}),
              },
            ],
          },
        },
      }),
    )
    return { name, uid: pod.metadata?.uid ?? '' }
  }
  const podUids = new Map<string, string>()
  const makeClaim = async (name: string, o: ClaimOpts): Promise<ClaimWire> => {
    const created = await resource.createNamespacedResourceClaim({
      namespace: ns,
      body: {
        metadata: { name },
        spec: {
          devices: {
            requests: [{ name: 'net', exactly: { deviceClassName: `attachment.${DRIVER}` } }],
            ...(o.claimParams
              ? {
                  config: [
                    { requests: ['net'], opaque: { driver: DRIVER, parameters: o.claimParams } },
                  ],
                }
              : {}),
          },
        },
      },
    })
    const uid = created.metadata?.uid ?? ''
    if (o.allocate ?? true) {
      const podUid = o.pod?.uid ?? randomUUID()
      podUids.set(uid, podUid)
      created.status = {
        allocation: {
          devices: {
            results: [
              { request: 'net', driver: DRIVER, pool: node, device: o.device ?? 'attachment-0' },
            ],
            config: [
              ...(o.classParams
                ? [
                    {
                      source: 'FromClass',
                      requests: ['net'],
                      opaque: { driver: DRIVER, parameters: o.classParams },
                    },
                  ]
                : []),
              ...(o.claimParams
                ? [
                    {
                      source: 'FromClaim',
                      requests: ['net'],
                      opaque: { driver: DRIVER, parameters: o.claimParams },
                    },
                  ]
                : []),
            ],
          },
          nodeSelector: {
            nodeSelectorTerms: [
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
            ],
          },
        },
        reservedFor: [{ resource: 'pods', name: o.pod?.name ?? `pod-${name}`, uid: podUid }],
      }
      await resource.replaceNamespacedResourceClaimStatus({ name, namespace: ns, body: created })
    }
    return { namespace: ns, name, uid }
  }

  const good = await makeClaim('good', {
    device: 'attachment-3',
    classParams: classNetwork,
    claimParams: { apiVersion: API, kind: 'CNIConfig', interfaceName: 'net1' },
    pod: await makePod('pod-good', 'good', true),
  })
  const unreferenced = await makeClaim('unref', {
    classParams: classNetwork,
    claimParams: { apiVersion: API, kind: 'CNIConfig', interfaceName: 'net1' },
    pod: await makePod('pod-unref', 'unref', false),
  })
  const unknownField = await makeClaim('unknown-field', {
    claimParams: { apiVersion: API, kind: 'CNIConfig', interfaceNmae: 'net1' },
    classParams: classNetwork,
  })
  const tenantNet = (plugin: Record<string, unknown>): Record<string, unknown> => ({
    apiVersion: API,
    kind: 'CNIConfig',
    interfaceName: 'net1',
    network: { cniVersion: '1.0.0', name: `t-${sfx}`, plugins: [plugin] },
  })
  const hostDevice = await makeClaim('host-device', {
    claimParams: tenantNet({ type: 'host-device', device: 'eth0' }),
  })
  const forbiddenKey = await makeClaim('forbidden-key', {
    claimParams: tenantNet({
      type: 'bridge',
      bridge: 'br-x',
      ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: '/etc' },
    }),
  })
  const notInPolicyFile = await makeClaim('ptp', {
    claimParams: tenantNet({
      type: 'ptp',
      ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]] },
    }),
  })
  const bridgeNet = (cniVersion: string): Record<string, unknown> => ({
    apiVersion: API,
    kind: 'CNIConfig',
    interfaceName: 'net1',
    network: {
      cniVersion,
      name: `v-${sfx}`,
      plugins: [
        {
          type: 'bridge',
          bridge: 'br-x',
          ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]] },
        },
      ],
    },
  })
  const cniFuture = await makeClaim('cni-future', { claimParams: bridgeNet('99.0.0') })
  const cniUnlisted = await makeClaim('cni-unlisted', { claimParams: bridgeNet('1.1.0') })
  const notAllocated = await makeClaim('not-allocated', {
    claimParams: { apiVersion: API, kind: 'CNIConfig', interfaceName: 'net1' },
    allocate: false,
  })

  // --- bad claims: one batch, one error per claim -------------------------------------------------
  const bad = [
    unknownField,
    hostDevice,
    forbiddenKey,
    notInPolicyFile,
    notAllocated,
    cniFuture,
    cniUnlisted,
    unreferenced,
  ]
  const raw = (await kubelet.rawCall(DRIVER, 'NodePrepareResources', bad)) as {
    claims: PrepareReply
  }
  const err = (c: ClaimWire): string => raw.claims[c.uid]?.error ?? '<no entry>'
  for (const c of bad) {
    t.same(raw.claims[c.uid]?.devices ?? [], [], `${c.name}: no devices`)
    t.comment(`${c.name}: ${err(c)}`)
  }
  t.match(err(unknownField), /interfaceNmae/, 'unknown field: the message names the field')
  t.match(err(unknownField), /parameters\.interfaceNmae: unknown field/)
  t.match(
    err(hostDevice),
    /^network-dra policy \[(plugin-type|parent-link)\] [^|]*host-device/,
    'host-device on an attachment slot: named',
  )
  t.match(
    err(forbiddenKey),
    /network-dra policy \[forbidden-key\] [^|]*ipam\.dataDir/,
    'forbidden key: named',
  )
  t.match(
    err(notInPolicyFile),
    /network-dra policy \[plugin-type\] [^|]*ptp/,
    'type outside the policy file: named',
  )
  t.match(err(notAllocated), /is not allocated/, 'claim without allocation: refused')
  t.match(
    err(cniFuture),
    /^network-dra policy \[cni-version\] [^|]*network\.cniVersion: "99\.0\.0" is not a CNI version this driver supports/,
    'cniVersion 99.0.0: refused at prepare',
  )
  t.match(
    err(cniUnlisted),
    /^network-dra policy \[cni-version\] .*"1\.1\.0" is not supported by plugin "bridge" \(\/usr\/lib\/cni\/bridge supports /,
    'a version the real bridge plugin does not list: refused, naming it',
  )
  const unrefText =
    /^network-dra policy \[unreferenced-claim\] pod pod-unref spec\.resourceClaims\[net\]: ResourceClaim unref is listed in the pod's spec\.resourceClaims but in no container's resources\.claims.*add it to resources\.claims of the containers that need the interface/
  t.match(
    err(unreferenced),
    unrefText,
    'claim no container uses: refused, naming pod, claim and fix',
  )
  const unrefEvents = await waitFor('the Warning Event on pod-unref', async () => {
    const l = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: 'involvedObject.name=pod-unref',
    })
    return l.items.length > 0 ? l.items : undefined
  })
  t.match(
    unrefEvents,
    [{ type: 'Warning', reason: 'NetworkClaimUnreferenced', message: unrefText }],
    'the pod got a Warning Event with the same text',
  )
  const cdiFiles = (): Promise<string[]> => readdir(dirs.cdi).catch(() => [] as string[])
  t.same(await cdiFiles(), [], 'no CDI spec written for any bad claim')
  t.same(
    Object.keys(
      (
        await readFile(join(dirs.state, 'state.json'), 'utf8').then(
          s => JSON.parse(s) as StateFile,
          () => ({ claims: {} }),
        )
      ).claims,
    ),
    [],
    'no state entry for any bad claim',
  )
  const rpcTotal = async (): Promise<number> =>
    (await httpGet(port, '/metrics')).body
      .split('\n')
      .filter(
        l => l.startsWith('network_dra_rpc_total{') && l.includes('method="NodePrepareResources"'),
      )
      .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0)
  const rpcBefore = await rpcTotal()

  // --- good claim: prepare, CDI spec, state, idempotence -----------------------------------------
  const first = await kubelet.prepare(DRIVER, [good])
  const dev = first[good.uid]?.devices
  t.equal(dev?.length, 1)
  t.same(dev?.[0]?.requestNames, ['net'])
  t.equal(dev?.[0]?.poolName, node)
  t.equal(dev?.[0]?.deviceName, 'attachment-3')
  const cdiId = `${DRIVER}/net=${good.uid}-attachment-3`
  t.same(dev?.[0]?.cdiDeviceIds, [cdiId])
  const again = await kubelet.prepare(DRIVER, [good])
  t.same(again[good.uid]?.devices, dev, 'repeated prepare: same reply, same CDI ids')

  const specPath = join(dirs.cdi, `${DRIVER}-net_${good.uid}.json`)
  t.same(await cdiFiles(), [`${DRIVER}-net_${good.uid}.json`], 'one spec file')
  const spec = JSON.parse(await readFile(specPath, 'utf8')) as CdiSpecFile
  t.equal(spec.kind, `${DRIVER}/net`)
  t.same(
    spec.devices.map(d => d.name),
    [`${good.uid}-attachment-3`],
  )
  const hooks = spec.devices[0]?.containerEdits.hooks ?? []
  t.equal(hooks.length, 1)
  const hook = hooks[0] as CdiHook
  t.equal(hook.hookName, 'createRuntime')
  t.equal(hook.path, HOOK)
  // The daemon runs with its default hook timeout: the CDI hook carries it, the hook's own
  // deadline is 2 s shorter.
  const hookTimeout = loadConfig([], { NODE_NAME: 'n' }).hookTimeoutSeconds
  t.equal(hook.timeout, hookTimeout)
  t.same(hook.args, [
    'network-dra-hook',
    'attach',
    '--claim',
    good.uid,
    '--request',
    'net',
    '--device',
    'attachment-3',
    '--socket',
    dirs.hookSocket,
    '--timeout-ms',
    String(hookDeadlineMs(hookTimeout)),
  ])

  const readState = async (): Promise<StateFile> =>
    JSON.parse(await readFile(join(dirs.state, 'state.json'), 'utf8')) as StateFile
  let state = await readState()
  t.equal(state.apiVersion, 'network-dra.state/v1')
  t.equal(state.kind, 'PluginState')
  t.same(Object.keys(state.claims), [good.uid], 'only the good claim is in the state')
  const rec = state.claims[good.uid]
  t.equal(rec?.namespace, ns)
  t.equal(rec?.name, 'good')
  t.same(rec?.cdiDeviceIds, [cdiId])
  t.match(rec?.plans, [{ request: 'net', device: 'attachment-3', pool: node, ifName: 'net1' }])
  t.same(rec?.attachments, [])

  const metrics = (await httpGet(port, '/metrics')).body
  t.comment(
    metrics
      .split('\n')
      .filter(l => l.startsWith('network_dra_rpc_total{'))
      .join('\n'),
  )
  t.equal(
    (await rpcTotal()) - rpcBefore,
    2,
    'network_dra_rpc_total counts the two NodePrepareResources calls',
  )
  t.match(metrics, /network_dra_prepared_claims 1\b/)
  t.match(
    metrics,
    /network_dra_kubelet_dra_calls_total\{api_version="v1",method="NodePrepareResources"\} [1-9]\d*\b/,
    'the calls are counted under the API version the kubelet chose',
  )
  t.match(metrics, /network_dra_kubelet_registered 1\b/)
  t.match(metrics, /network_dra_published_devices 128\b/)

  // --- the hook path: runc would run this hook as the pod sandbox is created ---------------------
  const netns = await createNetns(`ndra-dk-${sfx}`)
  t.teardown(() => deleteNetns(netns.name))
  const sandboxId = `sb${sfx}${'0'.repeat(58)}`.slice(0, 64)
  const podUid = podUids.get(good.uid) ?? ''
  const bundle = join(tmp, 'bundle')
  await mkdir(bundle)
  const annotations = {
    'io.kubernetes.cri.container-type': 'sandbox',
    'io.kubernetes.cri.sandbox-id': sandboxId,
    'io.kubernetes.cri.sandbox-uid': podUid,
    'io.kubernetes.cri.sandbox-name': 'pod-good',
    'io.kubernetes.cri.sandbox-namespace': ns,
  }
  await writeFile(
    join(bundle, 'config.json'),
    JSON.stringify({
      ociVersion: '1.2.1',
      annotations,
      linux: { namespaces: [{ type: 'pid' }, { type: 'network', path: netns.path }] },
    }),
  )
  const ociState = JSON.stringify({
    ociVersion: '1.2.1',
    id: sandboxId,
    status: 'creating',
    bundle,
    annotations,
  })
  const attachStart = performance.now()
  const hookRun = await runHook(hook.path, hook.args, ociState)
  t.comment(`hook attach took ${(performance.now() - attachStart).toFixed(0)} ms`)
  t.equal(hookRun.code, 0, `hook exits 0 (stderr: ${hookRun.stderr.trim()})`)
  const ips = await addresses(netns.name, 'net1')
  t.equal(ips.length, 1, 'net1 has one address inside the namespace')
  t.match(ips[0], /^198\.51\.100\.\d+\/24$/)
  t.ok(await linkExists(bridge), 'bridge created by the CNI plugin')

  // Same sandbox again (the app container's hook): idempotent, same address.
  const hookAgain = await runHook(hook.path, hook.args, ociState)
  t.equal(hookAgain.code, 0, 'second container of the pod: hook exits 0')
  t.same(await addresses(netns.name, 'net1'), ips, 'no second attachment')

  state = await readState()
  t.match(state.claims[good.uid]?.attachments, [
    { phase: 'attached', ifName: 'net1', podUid, sandboxId },
  ])
  t.equal(state.claims[good.uid]?.attachments.length, 1)

  const status = await waitFor('claim status with networkData', async () => {
    const c: ResourceV1ResourceClaim = await resource.readNamespacedResourceClaimStatus({
      name: 'good',
      namespace: ns,
    })
    return c.status?.devices?.[0]?.networkData ? c : undefined
  })
  const devStatus = status.status?.devices?.[0]
  t.equal(status.status?.devices?.length, 1)
  t.equal(devStatus?.driver, DRIVER)
  t.equal(devStatus?.pool, node)
  t.equal(devStatus?.device, 'attachment-3')
  t.equal(devStatus?.networkData?.interfaceName, 'net1')
  t.same(devStatus?.networkData?.ips, ips, 'networkData.ips = the address in the namespace')
  t.match(devStatus?.networkData?.hardwareAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
  const ready = devStatus?.conditions?.find(c => c.type === 'Ready')
  t.equal(ready?.status, 'True', 'Ready condition True')
  t.equal(ready?.reason, 'NetworkReady')

  const attachMetrics = (await httpGet(port, '/metrics')).body
  t.match(attachMetrics, /network_dra_attach_total\{[^}]*result="added"[^}]*\} [1-9]/)

  // --- unprepare ------------------------------------------------------------------------------------
  const ipamDir = join(dirs.ipam, `ndra.class.${netName}`)
  const reservations = async (): Promise<string[]> =>
    (await readdir(ipamDir).catch(() => [] as string[])).filter(f => /^\d/.test(f))
  t.equal((await reservations()).length, 1, 'host-local holds one reservation')
  const un = await kubelet.unprepare(DRIVER, [good])
  t.same(un, { [good.uid]: { error: '' } })
  t.notOk(await linkExists('net1', netns.name), 'interface removed from the namespace')
  t.same(await reservations(), [], 'address released')
  t.same(await cdiFiles(), [], 'CDI spec removed')
  state = await readState()
  t.same(state.claims, {}, 'state entry removed')
  const unknown = { namespace: ns, name: 'gone', uid: randomUUID() }
  t.same(
    await kubelet.unprepare(DRIVER, [unknown]),
    { [unknown.uid]: { error: '' } },
    'unprepare of an unknown claim succeeds',
  )

  // --- SIGTERM --------------------------------------------------------------------------------------
  const stopStart = performance.now()
  daemon.kill('SIGTERM')
  let stopTimer: NodeJS.Timeout | undefined
  const exit = await Promise.race([
    exited,
    new Promise<Exit>(resolve => {
      stopTimer = setTimeout(() => {
        resolve({ code: null, signal: null })
      }, 30_000)
    }),
  ])
  clearTimeout(stopTimer)
  t.comment(`daemon stopped ${(performance.now() - stopStart).toFixed(0)} ms after SIGTERM`)
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: exit code 0')
  const log = (await readFile(dirs.log, 'utf8'))
    .split('\n')
    .filter(l => l.startsWith('{'))
    .map(l => JSON.parse(l) as { level: string; msg: string })
  const stopAt = log.findIndex(l => l.msg === 'stopping')
  t.ok(stopAt >= 0, 'the daemon logged the signal')
  t.same(
    log.slice(stopAt).filter(l => l.level !== 'info' && l.level !== 'debug'),
    [],
    'an orderly shutdown logs no warning or error',
  )
  t.equal(log.at(-1)?.msg, 'network-dra plugin stopped')
  await kubelet.waitForDeregistration(DRIVER, 5_000)
  t.pass('kubelet saw the registration socket go away')
  t.same(await readdir(dirs.registrar), [], 'registration socket removed')
  t.same(
    (await readdir(join(dirs.plugins, DRIVER)).catch(() => [] as string[])).filter(f =>
      f.endsWith('.sock'),
    ),
    [],
    'DRA socket removed',
  )
  t.same(
    (await readdir(join(tmp, 'hook'))).filter(f => f.endsWith('.sock')),
    [],
    'hook socket removed',
  )
})
