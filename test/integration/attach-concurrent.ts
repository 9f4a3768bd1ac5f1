// Invariant (issue 2): 20 attaches on 20 distinct sandboxes, run at once through the real path —
// the single-executable hook → hook server → attacher → state store → real CNI plugins (macvlan +
// host-local) — all succeed with distinct addresses, each in its own network namespace; detaching
// every claim removes the interfaces and frees every host-local reservation.
// Needs root, /usr/lib/cni and the built hook (`npm run build`).
import t from 'tap'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Attacher } from '../../src/attach/attacher.js'
import { Detacher } from '../../src/attach/detacher.js'
import { RequestLocks } from '../../src/attach/request-locks.js'
import { FsNetnsProbe } from '../../src/attach/attach-netns-probe.js'
import { HookServer } from '../../src/attach/hook-server.js'
import { PodResolver } from '../../src/attach/pod-resolver.js'
import { CniRuntime } from '../../src/cni/runtime.js'
import { silentLogger } from '../../src/logger.js'
import { ClaimLedger } from '../../src/state/claim-ledger.js'
import {
  addresses,
  createNetns,
  createVethPair,
  deleteLink,
  deleteNetns,
  randomSuffix,
} from './lib/netns.js'

const N = 20
const HOOK =
  process.env.NDRA_HOOK_BIN ?? resolve(import.meta.dirname, '../../dist/hook/network-dra-hook')

function runHook(
  args: readonly string[],
  stdin: string,
): Promise<{ code: number; stderr: string }> {
  return new Promise(done => {
    const child = spawn(HOOK, args, { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('close', code => {
      done({ code: code ?? -1, stderr })
    })
    child.stdin.end(stdin)
  })
}

t.test('20 concurrent attaches through the hook', async t => {
  const sfx = randomSuffix()
  const work = await mkdtemp(join(tmpdir(), 'ndra-cc-'))
  const master = `ndcm${sfx}`
  const dataDir = join(work, 'ipam')
  const netName = `ndra-cc-${sfx}`
  const netnsNames = Array.from({ length: N }, (_, i) => `ndra-cc-${sfx}-${i}`)
  const uids = Array.from({ length: N }, () => randomUUID())
  const cleanups: (() => Promise<unknown>)[] = []
  t.teardown(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined)
    for (const n of netnsNames) await deleteNetns(n)
    await deleteLink(master)
    await rm(work, { recursive: true, force: true })
  })

  await createVethPair(master, `ndcp${sfx}`)
  const network = {
    cniVersion: '1.0.0',
    name: netName,
    plugins: [
      {
        type: 'macvlan',
        master,
        mode: 'bridge',
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.98.7.0/24' }]] },
      },
    ],
  }
  const ledger = await ClaimLedger.open({ dir: join(work, 'state') })
  cleanups.push(() => ledger.close())
  for (const uid of uids) {
    await ledger.prepared({
      uid,
      namespace: 'ns',
      name: `claim-${uid.slice(0, 8)}`,
      plans: [
        {
          request: 'net',
          pool: 'node',
          device: 'attachment-0',
          networkConfig: network,
          ifName: 'net1',
          capabilityArgs: {},
          cniArgs: [],
        },
      ],
      cdiDeviceIds: [`network-dra.dev/net=${uid}-attachment-0`],
    })
  }
  const probe = new FsNetnsProbe()
  const cni = new CniRuntime({
    binDirs: ['/usr/lib/cni'],
    cacheDir: join(work, 'cni'),
    pluginTimeoutMs: 20_000,
    parentEnv: process.env,
  })
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
  const socket = join(work, 'hook', 'hook.sock')
  const server = new HookServer({ socketPath: socket, handler: attacher, logger: silentLogger() })
  await server.start()
  cleanups.push(() => server.stop(1000))

  const states = await Promise.all(
    netnsNames.map(async (name, i) => {
      const ns = await createNetns(name)
      const bundle = join(work, 'bundles', `c${i}`)
      await mkdir(bundle, { recursive: true })
      await writeFile(
        join(bundle, 'config.json'),
        JSON.stringify({ linux: { namespaces: [{ type: 'network', path: ns.path }] } }),
      )
      return JSON.stringify({
        ociVersion: '1.0.2',
        id: `ctr${i}${sfx}`,
        status: 'creating',
        pid: process.pid,
        bundle,
        annotations: {
          'io.kubernetes.cri.container-type': 'container',
          'io.kubernetes.cri.sandbox-id': `sandbox${i}${sfx}`,
          'io.kubernetes.cri.sandbox-uid': randomUUID(),
          'io.kubernetes.cri.sandbox-name': `pod-${i}`,
          'io.kubernetes.cri.sandbox-namespace': 'ns',
        },
      })
    }),
  )

  const started = performance.now()
  const results = await Promise.all(
    uids.map((uid, i) =>
      runHook(
        [
          'attach',
          '--claim',
          uid,
          '--request',
          'net',
          '--device',
          'attachment-0',
          '--socket',
          socket,
          '--timeout-ms',
          '25000',
        ],
        states[i] ?? '',
      ),
    ),
  )
  const wallMs = Math.round(performance.now() - started)
  t.comment(`${N} concurrent hook attaches took ${wallMs} ms`)
  for (const [i, r] of results.entries()) t.equal(r.code, 0, `attach ${i} ok ${r.stderr}`)

  const addrs = await Promise.all(netnsNames.map(async n => (await addresses(n, 'net1'))[0]))
  t.equal(
    addrs.filter(a => a?.startsWith('10.98.7.')).length,
    N,
    `every netns has net1 in 10.98.7.0/24: ${addrs.join(' ')}`,
  )
  t.equal(new Set(addrs).size, N, 'addresses are distinct')
  const attached = Object.values(await ledger.refresh()).flatMap(c =>
    c.attachments.filter(a => a.phase === 'attached'),
  )
  t.equal(attached.length, N, 'every attachment recorded')

  await Promise.all(uids.map(uid => detacher.detachClaim(uid)))
  for (const n of netnsNames)
    t.same(await addresses(n, 'net1').catch(() => []), [], `net1 gone from ${n}`)
  const reserved = (await readdir(join(dataDir, netName))).filter(f =>
    /^\d+\.\d+\.\d+\.\d+$/.test(f),
  )
  t.same(reserved, [], 'every host-local reservation freed')
})
