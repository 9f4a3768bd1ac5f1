// Invariant (issue 7 acceptance): every hostile claim of the corpus (test/corpus/hostile-claims.ts),
// allocated as the scheduler would and prepared by the REAL daemon (dist/src/main.js, the policy file
// the chart renders from its defaults plus CORPUS_VALUES, a real kube-apiserver, the kubelet
// emulator), is refused with a per-claim error carrying its rule — and after each attempt the decoy
// links in the node namespace, named like production links (`ndra-eth0`, `ndra-cni0`, `ndra-decoy0`,
// `ndra-br0`, `ndra-hostif0`, veths the test creates), are still there with unchanged `ip -j -d link`
// and `ip -j addr` state, no host link appeared, no /var/lib/cni/networks directory appeared, and no
// CDI spec or result-cache entry was written. The benign controls of the corpus prepare and
// unprepare through the same daemon with the same effect on the node: none.
//
// A case the API server itself refuses to store (a claim it finds invalid) is counted as refused
// before the daemon and reported; the decoys are still checked.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ApiException, CoreV1Api, KubeConfig, ResourceV1Api } from '@kubernetes/client-node'
import { errorMessage } from '../../src/errors.js'
import { corpusAllocationConfig, renderCorpusChart } from '../corpus/corpus-chart.js'
import {
  BENIGN_CASES,
  CORPUS_HOST_INTERFACE,
  CORPUS_NAMESPACES,
  HOSTILE_CASES,
  type BenignCase,
} from '../corpus/hostile-claims.js'
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
import { createVethPair, deleteLink, ipJson, linkExists, randomSuffix } from './lib/netns.js'

/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   request bodies are plain objects: the client serialises by attribute maps, not class identity */

const DRIVER = 'network-dra.dev'
const HOST_NETWORKS = '/var/lib/cni/networks'
/** Decoys named like production links; each is one end of a veth pair (peer: `<name>p`). */
const DECOYS = ['ndra-eth0', 'ndra-cni0', 'ndra-decoy0', 'ndra-br0', CORPUS_HOST_INTERFACE]

t.setTimeout(900_000)

interface LinkInfo {
  readonly ifname: string
  readonly addr_info?: readonly { readonly local: string; readonly tentative?: boolean }[]
}

/** Everything of the node a hostile claim could change, as comparable data. */
interface NodeSnapshot {
  readonly linkNames: readonly string[]
  readonly decoyLinks: Readonly<Record<string, unknown>>
  readonly decoyAddrs: Readonly<Record<string, unknown>>
  readonly ipamDirs: readonly string[]
  readonly cdiSpecs: readonly string[]
  readonly cacheEntries: readonly string[]
}

const list = (dir: string): Promise<string[]> =>
  readdir(dir).then(
    l => l.sort(),
    () => [],
  )

async function snapshot(cdiDir: string, cacheDir: string): Promise<NodeSnapshot> {
  const links = (await ipJson(undefined, '-d', 'link', 'show')) as LinkInfo[]
  const addrs = (await ipJson(undefined, 'addr', 'show')) as LinkInfo[]
  const watched = new Set(DECOYS.flatMap(d => [d, `${d}p`]))
  const pick = (l: readonly LinkInfo[]) =>
    Object.fromEntries(l.filter(x => watched.has(x.ifname)).map(x => [x.ifname, x]))
  return {
    linkNames: links.map(l => l.ifname).sort(),
    decoyLinks: pick(links),
    decoyAddrs: pick(addrs),
    ipamDirs: await list(HOST_NETWORKS),
    cdiSpecs: await list(cdiDir),
    cacheEntries: await list(join(cacheDir, 'results')),
  }
}

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

t.test('hostile corpus through the real daemon: refused, decoys untouched', async t => {
  const kubeconfig = await kubeconfigPath()
  if (kubeconfig === undefined) {
    t.fail(
      `no control plane: run \`bash scripts/integration.sh\` or set ${KUBECONFIG_ENV} (scripts/cluster/control-plane.sh up)`,
    )
    return
  }
  ensureBuilt()
  const rendered = renderCorpusChart()
  t.ok(HOSTILE_CASES.length >= 80, `${HOSTILE_CASES.length} hostile cases`)

  // --- decoys: veths the test creates, never a link it did not make ------------------------------
  for (const d of DECOYS) {
    if (await linkExists(d)) {
      t.fail(
        `a link named ${d} already exists; it is not this test's, so the test will not touch it`,
      )
      return
    }
  }
  for (const d of DECOYS) {
    t.teardown(() => deleteLink(d))
    await createVethPair(d, `${d}p`)
  }
  // IPv6 duplicate address detection changes the decoys' addresses for a moment after they come up.
  await waitFor(
    'decoy addresses settled',
    async () => {
      const addrs = (await ipJson(undefined, 'addr', 'show')) as LinkInfo[]
      const busy = addrs.some(
        a => DECOYS.includes(a.ifname) && (a.addr_info ?? []).some(i => i.tentative === true),
      )
      return busy ? undefined : true
    },
    10_000,
  )

  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  const core = kc.makeApiClient(CoreV1Api)
  const resource = kc.makeApiClient(ResourceV1Api)
  const sfx = randomSuffix()
  const node = `ndra-hd-${sfx}`
  const selector = `spec.nodeName=${node},spec.driver=${DRIVER}`

  // --- the corpus namespaces (fixed names: the rendered policy grants ndra-granted) ---------------
  for (const name of Object.values(CORPUS_NAMESPACES)) {
    await waitFor(
      `namespace ${name} (a previous run's may still be terminating)`,
      async () => {
        try {
          await core.createNamespace({ body: { metadata: { name } } })
          return true
        } catch (err: unknown) {
          if (err instanceof ApiException && err.code === 409) return undefined
          throw err
        }
      },
      180_000,
    )
    t.teardown(async () => {
      await core.deleteNamespace({ name }).catch(() => undefined)
    })
  }
  await core.createNode({ body: { metadata: { name: node } } })
  t.teardown(async () => {
    await resource.deleteCollectionResourceSlice({ fieldSelector: selector }).catch(() => undefined)
    await core.deleteNode({ name: node }).catch(() => undefined)
  })

  // --- the daemon, with the chart-rendered policy and the decoy host interface published ----------
  const tmp = await mkdtemp(join(tmpdir(), 'ndra-hd-'))
  t.teardown(() => rm(tmp, { recursive: true, force: true }))
  const dirs = {
    registrar: join(tmp, 'plugins_registry'),
    plugins: join(tmp, 'plugins'),
    cdi: join(tmp, 'cdi'),
    state: join(tmp, 'state'),
    hookSocket: join(tmp, 'hook', 'hook.sock'),
    cni: join(tmp, 'cni'),
    policy: join(tmp, 'policy.json'),
    log: join(tmp, 'daemon.log'),
  }
  await mkdir(dirs.registrar, { recursive: true })
  await mkdir(dirs.plugins, { recursive: true })
  await writeFile(dirs.policy, rendered.policyJson)
  const port = await freePort()
  const logFd = openSync(dirs.log, 'w')
  const daemon: ChildProcess = spawn(
    process.execPath,
    [
      MAIN,
      ...['--kubeconfig', kubeconfig, '--node-name', node],
      ...['--kubelet-registrar-dir', dirs.registrar, '--kubelet-plugins-dir', dirs.plugins],
      ...['--cdi-root', dirs.cdi, '--state-dir', dirs.state],
      ...['--hook-socket', dirs.hookSocket, '--hook-path', HOOK],
      ...['--cni-cache-dir', dirs.cni, '--cni-bin-dirs', '/usr/lib/cni'],
      ...['--host-interfaces', `^${CORPUS_HOST_INTERFACE}$`],
      ...['--policy-file', dirs.policy, '--http-address', `127.0.0.1:${port}`],
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
      const pid = daemon.pid
      process.kill(pid, 'SIGTERM')
      const stopped = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>(r => {
          setTimeout(() => {
            r(false)
          }, 15_000)
        }),
      ])
      if (!stopped) process.kill(pid, 'SIGKILL')
    }
    if (!t.passing()) {
      const log = await readFile(dirs.log, 'utf8').catch(() => '')
      t.comment(`daemon log (last 40 lines):\n${log.split('\n').slice(-40).join('\n')}`)
    }
  })
  const kubelet = new KubeletEmulator()
  t.teardown(() => kubelet.close())
  await kubelet.watch(dirs.registrar)
  await kubelet.waitForPlugin(DRIVER, 30_000)
  await waitFor('/readyz 200 and the decoy host interface published', async () => {
    if (daemonExit !== undefined) throw new Error(`daemon exited: ${JSON.stringify(daemonExit)}`)
    if ((await httpGet(port, '/readyz')).status !== 200) return undefined
    const slices = await resource.listResourceSlice({ fieldSelector: selector })
    const names = slices.items.flatMap(s => (s.spec.devices ?? []).map(d => d.name))
    return names.includes(`host-${CORPUS_HOST_INTERFACE}`) ? true : undefined
  })

  // --- one claim per case, allocated as the scheduler would ---------------------------------------
  let seq = 0
  const makeClaim = async (c: BenignCase & { parametersJson?: string }): Promise<ClaimWire> => {
    const namespace = CORPUS_NAMESPACES[c.namespace]
    const name = `hc-${seq++}-${sfx}`
    const config = corpusAllocationConfig(c, rendered, DRIVER)
    const claimConfig = config.filter(e => e.source === 'FromClaim')
    const created = await resource.createNamespacedResourceClaim({
      namespace,
      body: {
        metadata: { name, annotations: { 'network-dra.dev/corpus-case': c.id } },
        spec: {
          devices: {
            requests: [{ name: 'net', exactly: { deviceClassName: `attachment.${DRIVER}` } }],
            ...(claimConfig.length > 0
              ? {
                  config: claimConfig.map(e => ({
                    requests: ['net'],
                    opaque: { driver: DRIVER, parameters: e.opaque?.parameters },
                  })),
                }
              : {}),
          },
        },
      },
    })
    const device =
      c.deviceClass === 'host-interface' ? `host-${c.hostInterface ?? ''}` : 'attachment-0'
    created.status = {
      allocation: {
        devices: {
          results: [{ request: 'net', driver: DRIVER, pool: node, device }],
          config: config.map(e => ({
            source: e.source,
            requests: ['net'],
            opaque: { driver: DRIVER, parameters: e.opaque?.parameters },
          })),
        },
        nodeSelector: {
          nodeSelectorTerms: [
            { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
          ],
        },
      },
      reservedFor: [{ resource: 'pods', name: `pod-${name}`, uid: randomUUID() }],
    }
    await resource.replaceNamespacedResourceClaimStatus({ name, namespace, body: created })
    return { namespace, name, uid: created.metadata?.uid ?? '' }
  }

  const baseline = await snapshot(dirs.cdi, dirs.cni)
  t.same(baseline.cdiSpecs, [], 'no CDI spec before the corpus runs')
  const byRule = new Map<string, number>()
  const apiRefused: string[] = []
  for (const c of HOSTILE_CASES) {
    let claim: ClaimWire
    try {
      claim = await makeClaim(c)
    } catch (err: unknown) {
      apiRefused.push(`${c.id}: ${errorMessage(err).split('\n')[0] ?? ''}`)
      t.same(await snapshot(dirs.cdi, dirs.cni), baseline, `${c.id}: node unchanged`)
      continue
    }
    const raw = (await kubelet.rawCall(DRIVER, 'NodePrepareResources', [claim])) as {
      claims: PrepareReply
    }
    const reply = raw.claims[claim.uid]
    const after = await snapshot(dirs.cdi, dirs.cni)
    const error = reply?.error ?? ''
    const ok =
      (reply?.devices ?? []).length === 0 &&
      error.split(' | ').some(l => l.startsWith(`network-dra policy [${c.rule}] `))
    if (!ok) t.fail(`${c.id}: not refused with [${c.rule}]: ${error || 'prepared'}`)
    else byRule.set(c.rule, (byRule.get(c.rule) ?? 0) + 1)
    // Compare the whole node snapshot, but report a difference once, naming the case.
    if (JSON.stringify(after) !== JSON.stringify(baseline)) {
      t.same(after, baseline, `${c.id}: the node changed`)
    }
  }
  const refused = [...byRule.values()].reduce((a, b) => a + b, 0)
  t.equal(
    refused + apiRefused.length,
    HOSTILE_CASES.length,
    `every hostile case refused: ${refused} by the daemon with their rule, ${apiRefused.length} by the API server`,
  )
  t.comment(`daemon refusals by rule: ${JSON.stringify(Object.fromEntries(byRule))}`)
  if (apiRefused.length > 0) t.comment(`refused by the API server:\n${apiRefused.join('\n')}`)
  t.same(await snapshot(dirs.cdi, dirs.cni), baseline, 'after the whole corpus: the node unchanged')

  // --- benign controls: prepared and unprepared through the same daemon ---------------------------
  for (const c of BENIGN_CASES) {
    const claim = await makeClaim(c)
    const prepared = await kubelet.prepare(DRIVER, [claim])
    const r = prepared[claim.uid]
    t.equal(r?.devices.length, 1, `${c.id}: prepared (${r?.error ?? ''})`)
    t.same(await kubelet.unprepare(DRIVER, [claim]), { [claim.uid]: { error: '' } })
    const after = await snapshot(dirs.cdi, dirs.cni)
    if (JSON.stringify(after) !== JSON.stringify(baseline)) {
      t.same(after, baseline, `${c.id}: the node changed`)
    }
  }
  t.pass(`${BENIGN_CASES.length} benign controls prepared and unprepared`)

  for (const d of DECOYS) t.ok(await linkExists(d), `${d} is still in the node namespace`)
  t.equal(daemonExit, undefined, 'the daemon is still running')
})
