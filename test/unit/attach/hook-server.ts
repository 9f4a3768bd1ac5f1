// Invariant: the hook server only listens on a 0600 socket in a 0700 directory it owns, hands the
// handler validated requests plus a signal that fires on the caller's deadline, answers handler
// failures with one line (ok:false), malformed calls with INVALID_ARGUMENT, and drains in-flight
// attaches on stop before forcing them.
import t, { type Test } from 'tap'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  credentials,
  loadPackageDefinition,
  status,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import {
  HookServer,
  type AttachHandler,
  type AttachReply,
  type AttachRequest,
} from '../../../src/attach/hook-server.js'
import { DriverError } from '../../../src/errors.js'
import { silentLogger } from '../../../src/logger.js'

const protoPath = fileURLToPath(new URL('../../../proto/hook/v1/hook.proto', import.meta.url))
const pkg = loadPackageDefinition(
  loadSync(protoPath, { keepCase: false, defaults: true }),
) as unknown as {
  networkdra: {
    hook: {
      v1: {
        Hook: new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => Client
      }
    }
  }
}

interface WireReply {
  ok: boolean
  message: string
  interfaceName: string
  ips: string[]
  mac: string
}

type AttachFn = (
  req: object,
  opts: { deadline: number },
  cb: (err: ServiceError | null, reply?: WireReply) => void,
) => void

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-hs-'))
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

async function serve(
  t: Test,
  handler: AttachHandler,
  socketPath = join(tmp(t), 'run', 'hook.sock'),
) {
  const server = new HookServer({ socketPath, handler, logger: silentLogger() })
  await server.start()
  t.teardown(() => server.stop(100))
  const client = new pkg.networkdra.hook.v1.Hook(`unix:${socketPath}`, credentials.createInsecure())
  t.teardown(() => {
    client.close()
  })
  const attachFn = (client as unknown as { Attach: AttachFn }).Attach.bind(client)
  const attach = (req: object, timeoutMs = 5000): Promise<WireReply> =>
    new Promise((resolve, reject) => {
      attachFn(req, { deadline: Date.now() + timeoutMs }, (err, reply) => {
        if (err) reject(err)
        else resolve(reply as WireReply)
      })
    })
  return { server, socketPath, attach }
}

const STATE = {
  ociVersion: '1.2.1',
  id: 'ctr',
  status: 'creating',
  pid: 42,
  bundle: '/run/b/ctr',
  annotations: { a: 'b' },
}
const REQ = {
  claimUid: 'uid-1',
  request: 'net1',
  device: 'attachment-0',
  ociState: Buffer.from(JSON.stringify(STATE)),
}

class Recorder implements AttachHandler {
  seen: AttachRequest[] = []
  constructor(
    private readonly impl: (req: AttachRequest, signal: AbortSignal) => Promise<AttachReply>,
  ) {}
  attach(req: AttachRequest, signal: AbortSignal): Promise<AttachReply> {
    this.seen.push(req)
    return this.impl(req, signal)
  }
}

t.test('socket and directory permissions', async t => {
  const { socketPath } = await serve(t, new Recorder(async () => ({ ok: true, message: '' })))
  t.equal(statSync(join(socketPath, '..')).mode & 0o777, 0o700)
  t.equal(statSync(socketPath).mode & 0o777, 0o600)
  t.ok(statSync(socketPath).isSocket())
})

t.test('tightens an existing open directory and replaces a stale socket', async t => {
  const dir = join(tmp(t), 'run')
  mkdirSync(dir, { mode: 0o755 })
  chmodSync(dir, 0o755)
  const socketPath = join(dir, 'hook.sock')
  // A process that dies while listening leaves its socket file behind (a crashed plugin).
  execFileSync(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => process.exit(0))`,
  ])
  t.ok(statSync(socketPath).isSocket(), 'stale socket present')
  const { attach } = await serve(
    t,
    new Recorder(async () => ({ ok: true, message: 'hi' })),
    socketPath,
  )
  t.equal(statSync(dir).mode & 0o777, 0o700)
  t.equal((await attach(REQ)).message, 'hi')
})

const refusals = [
  {
    name: 'non-socket file at the socket path',
    setup: (d: string) => {
      mkdirSync(join(d, 'run'), { mode: 0o700 })
      writeFileSync(join(d, 'run', 'hook.sock'), 'x')
      return join(d, 'run', 'hook.sock')
    },
    msg: /not a socket/,
  },
  { name: 'relative path', setup: () => 'run/hook.sock', msg: /absolute/ },
  {
    name: 'path too long',
    setup: (d: string) => join(d, 'x'.repeat(120), 'hook.sock'),
    msg: /longer than 107/,
  },
  {
    name: 'parent is a file',
    setup: (d: string) => {
      writeFileSync(join(d, 'f'), '')
      return join(d, 'f', 'hook.sock')
    },
    msg: /ENOTDIR|EEXIST|not a directory/,
  },
]
for (const r of refusals) {
  t.test(`refuses ${r.name}`, async t => {
    const socketPath = r.setup(tmp(t))
    const server = new HookServer({
      socketPath,
      handler: new Recorder(async () => ({ ok: true, message: '' })),
      logger: silentLogger(),
    })
    await t.rejects(server.start(), { message: r.msg })
  })
}

t.test('refuses a directory owned by another uid', async t => {
  const socketPath = join(tmp(t), 'run', 'hook.sock')
  const server = new HookServer({
    socketPath,
    uid: 54321,
    handler: new Recorder(async () => ({ ok: true, message: '' })),
    logger: silentLogger(),
  })
  await t.rejects(server.start(), {
    code: 'NDRA_INVALID_CONFIG',
    message: /owned by uid \d+, not by us \(uid 54321\)/,
  })
})

t.test('passes validated requests to the handler and returns its reply', async t => {
  const rec = new Recorder(async () => ({
    ok: true,
    message: 'attached\nnow',
    interfaceName: 'net1',
    ips: ['10.0.0.2/24'],
    mac: '02:00:00:00:00:01',
  }))
  const { attach } = await serve(t, rec)
  t.same(await attach(REQ), {
    ok: true,
    message: 'attached now',
    interfaceName: 'net1',
    ips: ['10.0.0.2/24'],
    mac: '02:00:00:00:00:01',
  })
  t.same(rec.seen, [{ claimUid: 'uid-1', request: 'net1', device: 'attachment-0', state: STATE }])
})

t.test('malformed calls are INVALID_ARGUMENT and never reach the handler', async t => {
  const rec = new Recorder(async () => ({ ok: true, message: '' }))
  const { attach } = await serve(t, rec)
  const cases = [
    { req: { ...REQ, ociState: Buffer.from('{"id":"x"}') }, msg: /"bundle" is required/ },
    { req: { ...REQ, ociState: Buffer.from('') }, msg: /empty/ },
    { req: { ...REQ, claimUid: '' }, msg: /claim_uid is required/ },
    { req: { ...REQ, request: '' }, msg: /request is required/ },
    { req: { ...REQ, device: '' }, msg: /device is required/ },
  ]
  for (const c of cases) {
    await t.rejects(attach(c.req), { code: status.INVALID_ARGUMENT, details: c.msg })
  }
  t.equal(rec.seen.length, 0)
})

t.test('handler failures become ok:false with one line and the code', async t => {
  const rec = new Recorder(async req => {
    if (req.request === 'driver')
      throw new DriverError('NDRA_CNI_PLUGIN', 'plugin type="macvlan" failed (add):\n  no master')
    throw new TypeError('undefined is not a function')
  })
  const { attach } = await serve(t, rec)
  t.same(await attach({ ...REQ, request: 'driver' }), {
    ok: false,
    message: 'plugin type="macvlan" failed (add): no master [NDRA_CNI_PLUGIN]',
    interfaceName: '',
    ips: [],
    mac: '',
  })
  t.equal(
    (await attach({ ...REQ, request: 'bug' })).message,
    'internal error: undefined is not a function [NDRA_INTERNAL]',
  )
})

t.test('the caller deadline aborts the handler signal', async t => {
  let reason: unknown
  const rec = new Recorder(
    (_req, signal) =>
      new Promise(resolve => {
        signal.addEventListener('abort', () => {
          reason = signal.reason
          resolve({ ok: false, message: 'aborted' })
        })
      }),
  )
  const { attach, server } = await serve(t, rec)
  const started = Date.now()
  await t.rejects(attach(REQ, 300), { code: status.DEADLINE_EXCEEDED })
  t.ok(Date.now() - started < 2000)
  await new Promise(r => setTimeout(r, 50))
  t.match(reason, { code: 'NDRA_HOOK_TIMEOUT' })
  t.equal(server.inflight, 0)
})

t.test('stop drains in-flight attaches within the grace period', async t => {
  const rec = new Recorder(async () => {
    await new Promise(r => setTimeout(r, 200))
    return { ok: true, message: 'late but fine' }
  })
  const { attach, server, socketPath } = await serve(t, rec)
  const pending = attach(REQ)
  await new Promise(r => setTimeout(r, 50))
  t.equal(server.inflight, 1)
  await server.stop(5000)
  t.equal((await pending).message, 'late but fine')
  t.notOk(existsSync(socketPath), 'socket removed')
  await server.stop(10) // idempotent
})

t.test('stop forces after the grace period and aborts the handler', async t => {
  let reason: unknown
  const rec = new Recorder(
    (_req, signal) =>
      new Promise(resolve => {
        signal.addEventListener('abort', () => {
          reason = signal.reason
          setTimeout(() => {
            resolve({ ok: false, message: 'x' })
          }, 10)
        })
      }),
  )
  const { attach, server } = await serve(t, rec)
  const pending = attach(REQ).catch((err: unknown) => err)
  await new Promise(r => setTimeout(r, 50))
  const started = Date.now()
  await server.stop(150)
  const took = Date.now() - started
  t.ok(took >= 140 && took < 2000, `stop took ${took} ms`)
  t.match(reason, { code: 'NDRA_SHUTTING_DOWN' })
  const err = (await pending) as ServiceError
  t.ok(
    [status.CANCELLED, status.UNAVAILABLE].includes(err.code),
    `client sees the call end (${err.code})`,
  )
})

t.test('start twice is refused', async t => {
  const { server } = await serve(t, new Recorder(async () => ({ ok: true, message: '' })))
  await t.rejects(server.start(), { code: 'NDRA_INTERNAL' })
})

t.test('a successor instance takes the socket over and survives our stop', async t => {
  const socketPath = join(tmp(t), 'run', 'hook.sock')
  const old = new HookServer({
    socketPath,
    handler: new Recorder(async () => ({ ok: true, message: 'old' })),
    logger: silentLogger(),
  })
  await old.start()
  const { attach } = await serve(
    t,
    new Recorder(async () => ({ ok: true, message: 'new' })),
    socketPath,
  )
  await old.stop(100)
  t.ok(existsSync(socketPath), 'successor socket still there')
  t.equal((await attach(REQ)).message, 'new')
})
