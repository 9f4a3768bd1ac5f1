// Invariant: over real Unix sockets, a kubelet (emulated on the wire) discovers, registers and calls
// the plugin on the service it would pick (v1, or v1beta1 when only that is offered), every claim is
// answered, health is SERVING only after the kubelet confirmed registration, stale sockets are
// replaced at start and our sockets are gone after stop.
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { status as grpcStatus } from '@grpc/grpc-js'
import { DriverError } from '../../src/errors.js'
import { silentLogger } from '../../src/logger.js'
import type { ClaimPreparer, ClaimRef, PrepareResult } from '../../src/kubelet/claim-preparer.js'
import { KubeletPlugin, type KubeletPluginOptions } from '../../src/kubelet/kubelet-plugin.js'
import { loadKubeletProtos } from '../../src/kubelet/protos.js'
import { callUnary, methodOf, unixClient } from '../../src/kubelet/unary-call.js'
import { KubeletEmulator } from '../fakes/kubelet-emulator.js'

const DRIVER = 'network-dra.dev'
const protos = loadKubeletProtos()

/** Records calls; prepares every claim except those whose name starts with "skip-". */
class RecordingPreparer implements ClaimPreparer {
  readonly prepared: ClaimRef[][] = []
  readonly unprepared: ClaimRef[][] = []
  prepare(claims: readonly ClaimRef[]): Promise<ReadonlyMap<string, PrepareResult>> {
    this.prepared.push([...claims])
    const out = new Map<string, PrepareResult>()
    for (const c of claims) {
      if (c.name.startsWith('skip-')) continue
      if (c.name.startsWith('bad-')) {
        out.set(c.uid, { error: `claim ${c.name} is bad` })
        continue
      }
      out.set(c.uid, {
        devices: [
          {
            requestNames: ['net'],
            poolName: 'node-a',
            deviceName: 'attachment-3',
            cdiDeviceIds: [`network-dra.dev/net=${c.uid}-attachment-3`],
            shareId: `share-${c.uid}`,
          },
        ],
      })
    }
    return Promise.resolve(out)
  }
  unprepare(claims: readonly ClaimRef[]): Promise<ReadonlyMap<string, { error?: string }>> {
    this.unprepared.push([...claims])
    return Promise.resolve(new Map(claims.map(c => [c.uid, {}])))
  }
}

interface Env {
  root: string
  registrarDir: string
  pluginsDir: string
}

async function makeEnv(t: Test): Promise<Env> {
  // Short paths: Unix socket paths are limited to 107 bytes.
  const root = await mkdtemp(join(tmpdir(), 'ndra-kp-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const registrarDir = join(root, 'plugins_registry')
  const pluginsDir = join(root, 'plugins')
  await mkdir(registrarDir)
  await mkdir(pluginsDir)
  return { root, registrarDir, pluginsDir }
}

function startPlugin(
  t: Test,
  env: Env,
  extra: Partial<KubeletPluginOptions> = {},
): { plugin: KubeletPlugin; preparer: RecordingPreparer } {
  const preparer = new RecordingPreparer()
  const plugin = new KubeletPlugin({
    driverName: DRIVER,
    registrarDir: env.registrarDir,
    pluginsDir: env.pluginsDir,
    preparer,
    logger: silentLogger(),
    protos,
    healthWatchIntervalMs: 100,
    shutdownGraceMs: 1_000,
    ...extra,
  })
  t.teardown(() => plugin.stop())
  return { plugin, preparer }
}

function emulator(t: Test): KubeletEmulator {
  const k = new KubeletEmulator({ protos })
  t.teardown(() => k.close())
  return k
}

async function healthCheck(socket: string): Promise<string> {
  const client = unixClient(socket)
  try {
    const res = (await callUnary(
      client,
      methodOf(protos.grpcHealth, 'Check'),
      { service: '' },
      5_000,
    )) as {
      status: string
    }
    return res.status
  } finally {
    client.close()
  }
}

/** Leaves a real socket file behind, as a crashed previous instance would. */
async function staleSocket(t: Test, path: string): Promise<Server> {
  const srv = createServer()
  await new Promise<void>(res => srv.listen(path, res))
  t.teardown(
    () =>
      new Promise<void>(res =>
        srv.close(() => {
          res()
        }),
      ),
  )
  return srv
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

const claim = (name: string): { namespace: string; uid: string; name: string } => ({
  namespace: 'ns1',
  uid: randomUUID(),
  name,
})

t.test('registers over the registry directory and serves v1 with share_id', async t => {
  const env = await makeEnv(t)
  const regPath = join(env.registrarDir, `${DRIVER}-reg.sock`)
  await staleSocket(t, regPath)
  const { plugin, preparer } = startPlugin(t, env)
  await plugin.start()
  t.equal(plugin.paths.registrationSocket, regPath)
  t.equal(plugin.paths.draSocket, join(env.pluginsDir, DRIVER, 'dra.sock'))
  t.ok((await stat(regPath)).isSocket(), 'stale socket replaced by ours')

  t.equal(
    await healthCheck(plugin.paths.draSocket),
    'NOT_SERVING',
    'not serving before registration',
  )

  const kubelet = emulator(t)
  await kubelet.watch(env.registrarDir)
  const reg = await kubelet.waitForPlugin(DRIVER, 10_000)
  t.same(reg.info, {
    type: 'DRAPlugin',
    name: DRIVER,
    endpoint: plugin.paths.draSocket,
    supportedVersions: ['v1.DRAPlugin', 'v1beta1.DRAPlugin'],
  })
  t.equal(reg.service, 'v1.DRAPlugin')
  const st = await plugin.waitRegistered(5_000)
  t.equal(st.registered, true, 'plugin saw plugin_registered=true')
  t.equal(st.lastError, '')
  t.equal(plugin.registrationStatus().notifications, 1)
  t.equal(await healthCheck(plugin.paths.draSocket), 'SERVING', 'serving after registration')
  t.equal((await plugin.probeHealth()).status, 'SERVING')

  const a = claim('a')
  const b = claim('b')
  const reply = await kubelet.prepare(DRIVER, [a, b])
  t.same(Object.keys(reply).sort(), [a.uid, b.uid].sort())
  t.same(reply[a.uid], {
    error: '',
    devices: [
      {
        requestNames: ['net'],
        poolName: 'node-a',
        deviceName: 'attachment-3',
        cdiDeviceIds: [`network-dra.dev/net=${a.uid}-attachment-3`],
        shareId: `share-${a.uid}`,
        _shareId: 'shareId',
      },
    ],
  })
  t.same(preparer.prepared, [[a, b]])

  const un = await kubelet.unprepare(DRIVER, [a, b])
  t.same(un, { [a.uid]: { error: '' }, [b.uid]: { error: '' } })
  t.same(preparer.unprepared, [[a, b]])

  // Every claim is answered, even the one the preparer skipped; the kubelet then reports it.
  const skipped = claim('skip-me')
  const raw = (await kubelet.rawCall(DRIVER, 'NodePrepareResources', [a, skipped])) as {
    claims: Record<string, { error: string }>
  }
  t.equal(raw.claims[a.uid]?.error, '')
  t.match(
    raw.claims[skipped.uid]?.error,
    /internal error: driver returned no result for claim ns1\/skip-me/,
  )
  await t.rejects(kubelet.prepare(DRIVER, [claim('bad-one')]), {
    message: 'NodePrepareResources failed for ResourceClaim bad-one: claim bad-one is bad',
  })
  // A claim without a namespace is answered with an error and never reaches the preparer.
  const calls = preparer.prepared.length
  const invalid = { namespace: '', uid: randomUUID(), name: 'x' }
  const raw2 = (await kubelet.rawCall(DRIVER, 'NodePrepareResources', [invalid])) as {
    claims: Record<string, { error: string }>
  }
  t.match(raw2.claims[invalid.uid]?.error, /namespace required/)
  t.equal(preparer.prepared.length, calls)

  await plugin.stop()
  t.notOk(await exists(plugin.paths.registrationSocket), 'registration socket removed')
  t.notOk(await exists(plugin.paths.draSocket), 'DRA socket removed')
  await kubelet.waitForDeregistration(DRIVER, 5_000)
  t.pass('kubelet deregistered the plugin when the socket went away')
})

t.test('a plugin offering only v1beta1 is called on v1beta1 (rolling-update names)', async t => {
  const env = await makeEnv(t)
  const podUid = randomUUID()
  const { plugin } = startPlugin(t, env, { versions: ['v1beta1'], podUid })
  await plugin.start()
  t.equal(plugin.paths.registrationSocket, join(env.registrarDir, `${DRIVER}-${podUid}-reg.sock`))
  t.equal(plugin.paths.draSocket, join(env.pluginsDir, DRIVER, `dra-${podUid}.sock`))
  const kubelet = emulator(t)
  const reg = await kubelet.register(plugin.paths.registrationSocket)
  t.same(reg.info.supportedVersions, ['v1beta1.DRAPlugin'])
  t.equal(reg.service, 'v1beta1.DRAPlugin')
  const a = claim('a')
  const reply = await kubelet.prepare(DRIVER, [a])
  const dev = reply[a.uid]?.devices[0]
  t.equal(dev?.deviceName, 'attachment-3')
  t.notOk(dev && 'shareId' in dev, 'no share_id on v1beta1')
  t.same(await kubelet.unprepare(DRIVER, [a]), { [a.uid]: { error: '' } })
  // The v1 service is not served at all on this socket.
  const direct = unixClient(plugin.paths.draSocket)
  t.teardown(() => {
    direct.close()
  })
  await t.rejects(
    callUnary(direct, methodOf(protos.draV1, 'NodePrepareResources'), { claims: [] }, 2_000),
    { code: grpcStatus.UNIMPLEMENTED },
  )
  t.equal(await healthCheck(plugin.paths.draSocket), 'SERVING')
})

t.test('refuses to replace a file that is not a socket', async t => {
  const env = await makeEnv(t)
  const { plugin } = startPlugin(t, env)
  await mkdir(join(env.pluginsDir, DRIVER))
  await writeFile(plugin.paths.draSocket, 'not a socket')
  await t.rejects(plugin.start(), { code: 'NDRA_INVALID_CONFIG' })
  t.equal(await readFile(plugin.paths.draSocket, 'utf8'), 'not a socket', 'file left alone')
  t.notOk(await exists(plugin.paths.registrationSocket), 'registration never started')
})

t.test('a kubelet that cannot use the plugin refuses it and the plugin records why', async t => {
  const env = await makeEnv(t)
  const { plugin } = startPlugin(t, env)
  await plugin.start()
  const kubelet = emulator(t)
  await kubelet.register(plugin.paths.registrationSocket)
  // Same endpoint a second time: the kubelet refuses and notifies plugin_registered=false.
  await t.rejects(
    kubelet.register(plugin.paths.registrationSocket),
    /already registered for DRA driver plugin/,
  )
  const st = plugin.registrationStatus()
  t.equal(st.registered, false)
  t.match(st.lastError, /already registered/)
  t.equal(st.notifications, 2)
  await t.rejects(plugin.waitRegistered(200), {
    code: 'NDRA_KUBELET_REGISTRATION',
    message: /refused/,
  })
})

t.test('calls during shutdown are refused with UNAVAILABLE', async t => {
  const env = await makeEnv(t)
  let release: () => void = () => undefined
  const gate = new Promise<void>(res => {
    release = res
  })
  const preparer: ClaimPreparer = {
    prepare: async claims => {
      await gate
      return new Map(claims.map(c => [c.uid, { devices: [] }]))
    },
    unprepare: claims => Promise.resolve(new Map(claims.map(c => [c.uid, {}]))),
  }
  const { plugin } = startPlugin(t, env, { preparer, shutdownGraceMs: 5_000 })
  await plugin.start()
  const kubelet = emulator(t)
  await kubelet.register(plugin.paths.registrationSocket)
  const slow = kubelet.prepare(DRIVER, [claim('slow')])
  await new Promise(res => setTimeout(res, 100))
  const client = unixClient(plugin.paths.draSocket)
  t.teardown(() => {
    client.close()
  })
  await callUnary(client, methodOf(protos.draV1, 'NodeUnprepareResources'), { claims: [] }, 2_000)
  const stopping = plugin.stop()
  await new Promise(res => setTimeout(res, 100))
  await t.rejects(
    callUnary(
      client,
      methodOf(protos.draV1, 'NodeUnprepareResources'),
      { claims: [claim('late')] },
      2_000,
    ),
    { code: grpcStatus.UNAVAILABLE },
  )
  release()
  const done = await slow
  t.equal(Object.values(done)[0]?.error, '', 'the running call finished within the grace period')
  await stopping
})

t.test('a whole-call fault reaches the kubelet as a gRPC status', async t => {
  const env = await makeEnv(t)
  const preparer: ClaimPreparer = {
    prepare: () => Promise.reject(new DriverError('NDRA_KUBE_API', 'apiserver unreachable')),
    unprepare: () => Promise.reject(new Error('disk on fire')),
  }
  const { plugin } = startPlugin(t, env, { preparer })
  await plugin.start()
  const kubelet = emulator(t)
  await kubelet.register(plugin.paths.registrationSocket)
  const err = await kubelet.prepare(DRIVER, [claim('a')]).then(
    () => undefined,
    (e: unknown) => e as Error & { cause: { code: number; details: string } },
  )
  t.equal(err?.cause.code, grpcStatus.UNAVAILABLE)
  t.equal(err?.cause.details, 'NDRA_KUBE_API: apiserver unreachable')
  t.match(err?.message, /^NodePrepareResources: /)
  await t.rejects(kubelet.unprepare(DRIVER, [claim('a')]), { cause: { code: grpcStatus.INTERNAL } })
  t.equal(
    await healthCheck(plugin.paths.draSocket),
    'SERVING',
    'a failing preparer does not make the socket unhealthy',
  )
})

t.test('health Watch streams NOT_SERVING then SERVING after registration', async t => {
  const env = await makeEnv(t)
  const { plugin } = startPlugin(t, env)
  await plugin.start()
  const client = unixClient(plugin.paths.draSocket)
  t.teardown(() => {
    client.close()
  })
  const watch = protos.grpcHealth.Watch!
  const seen: string[] = []
  const call = client.makeServerStreamRequest(
    watch.path,
    watch.requestSerialize,
    watch.responseDeserialize,
    { service: '' },
  )
  call.on('error', () => undefined)
  const serving = new Promise<void>(resolve => {
    call.on('data', (msg: { status: string }) => {
      seen.push(msg.status)
      if (msg.status === 'SERVING') resolve()
    })
  })
  await new Promise(res => setTimeout(res, 150))
  const kubelet = emulator(t)
  await kubelet.register(plugin.paths.registrationSocket)
  await serving
  call.cancel()
  t.same(seen, ['NOT_SERVING', 'SERVING'])
  // Unknown service names get NOT_FOUND from Check.
  await t.rejects(
    callUnary(client, methodOf(protos.grpcHealth, 'Check'), { service: 'nope' }, 2_000),
    {
      code: grpcStatus.NOT_FOUND,
    },
  )
})
