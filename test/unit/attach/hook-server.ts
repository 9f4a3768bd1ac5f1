// Invariant: the hook server only listens on a 0600 socket in a 0700 directory it owns, hands the
// handler validated requests plus a signal that fires on the caller's deadline or disconnect,
// answers handler failures with one line (ok:false), malformed calls with 400 NDRA_HOOK_PROTOCOL,
// answers 503 while stopping, and drains in-flight attaches on stop before forcing them.
// The client is the hook's own transport (hook/http-unix-post.ts), run under Node.
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
import { postUnix, type PostResult } from '../../../hook/http-unix-post.js'
import { attachBody } from '../../../hook/attach-with-retry.js'
import {
  HookServer,
  type AttachHandler,
  type AttachReply,
  type AttachRequest,
} from '../../../src/attach/hook-server.js'
import { ATTACH_PATH, TIMEOUT_HEADER } from '../../../src/attach/hook-contract.js'
import { DriverError } from '../../../src/errors.js'
import { silentLogger } from '../../../src/logger.js'

interface WireReply {
  ok: boolean
  message: string
  interfaceName?: string
  ips?: string[]
  mac?: string
}

/** An HTTP answer other than 200. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly reply: WireReply,
  ) {
    super(`HTTP ${status}: ${reply.message}`)
  }
}

interface CallOptions {
  timeoutMs?: number
  headers?: Record<string, string>
  path?: string
  body?: Uint8Array
  signal?: AbortSignal
}

function decode(r: PostResult): WireReply {
  return JSON.parse(new TextDecoder().decode(r.body)) as WireReply
}

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
  const raw = (req: WireRequest, o: CallOptions = {}): Promise<PostResult> =>
    postUnix({
      socketPath,
      path: o.path ?? ATTACH_PATH,
      headers: {
        'content-type': 'application/json',
        connection: 'close',
        [TIMEOUT_HEADER]: String(o.timeoutMs ?? 5000),
        ...o.headers,
      },
      body: o.body ?? attachBody(req),
      signal: o.signal ?? new AbortController().signal,
    })
  const attach = async (req: WireRequest, o: CallOptions = {}): Promise<WireReply> => {
    const r = await raw(req, o)
    if (r.status !== 200) throw new HttpStatusError(r.status, decode(r))
    return decode(r)
  }
  return { server, socketPath, attach, raw }
}

interface WireRequest {
  claimUid: string
  request: string
  device: string
  ociState: Uint8Array
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
  ociState: new TextEncoder().encode(JSON.stringify(STATE)),
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

t.test('malformed calls are 400 NDRA_HOOK_PROTOCOL and never reach the handler', async t => {
  const rec = new Recorder(async () => ({ ok: true, message: '' }))
  const { attach } = await serve(t, rec)
  const state = (text: string) => ({ ...REQ, ociState: new TextEncoder().encode(text) })
  const cases: { name: string; req: WireRequest; o?: CallOptions; status: number; msg: RegExp }[] =
    [
      { name: 'no bundle', req: state('{"id":"x"}'), status: 400, msg: /"bundle" is required/ },
      {
        name: 'relative bundle',
        req: state('{"id":"x","bundle":"b"}'),
        status: 400,
        msg: /absolute/,
      },
      { name: 'state not an object', req: state('[1]'), status: 400, msg: /not a JSON object/ },
      { name: 'empty state', req: state(''), status: 400, msg: /not JSON.*empty or truncated/ },
      { name: 'no claim', req: { ...REQ, claimUid: '' }, status: 400, msg: /claimUid is required/ },
      { name: 'no request', req: { ...REQ, request: '' }, status: 400, msg: /request is required/ },
      { name: 'no device', req: { ...REQ, device: '' }, status: 400, msg: /device is required/ },
      {
        name: 'body not an object',
        req: REQ,
        o: { body: new TextEncoder().encode('"x"') },
        status: 400,
        msg: /not a JSON object/,
      },
      {
        name: 'no deadline header',
        req: REQ,
        o: { headers: { [TIMEOUT_HEADER]: '' } },
        status: 400,
        msg: /network-dra-timeout-ms must be a whole number/,
      },
      {
        name: 'zero deadline',
        req: REQ,
        o: { headers: { [TIMEOUT_HEADER]: '0' } },
        status: 400,
        msg: /between 1 and/,
      },
      {
        name: 'unknown path',
        req: REQ,
        o: { path: '/v0/attach' },
        status: 404,
        msg: /no such path/,
      },
      {
        name: 'body too large',
        req: REQ,
        o: { body: new Uint8Array(4 * 1024 * 1024 + 1) },
        status: 413,
        msg: /larger than 4194304 bytes/,
      },
    ]
  for (const c of cases) {
    const err: unknown = await attach(c.req, c.o).catch((e: unknown) => e)
    t.match(err, { status: c.status, reply: { ok: false, message: c.msg } }, c.name)
    t.match(err, { reply: { message: /\[NDRA_HOOK_PROTOCOL\]$/ } }, c.name)
  }
  t.equal(rec.seen.length, 0)
})

t.test('GET is 405 with Allow', async t => {
  const { socketPath } = await serve(t, new Recorder(async () => ({ ok: true, message: '' })))
  const { request } = await import('node:http')
  const res = await new Promise<{ status: number; allow: unknown }>((resolve, reject) => {
    request({ socketPath, path: ATTACH_PATH, method: 'GET' }, r => {
      r.resume()
      resolve({ status: r.statusCode ?? 0, allow: r.headers.allow })
    })
      .on('error', reject)
      .end()
  })
  t.same(res, { status: 405, allow: 'POST' })
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

function waitForAbort(rec: {
  reason?: unknown
}): (req: AttachRequest, signal: AbortSignal) => Promise<AttachReply> {
  return (_req, signal) =>
    new Promise(resolve => {
      signal.addEventListener('abort', () => {
        rec.reason = signal.reason
        resolve({ ok: false, message: 'aborted' })
      })
    })
}

t.test('the deadline header or a disconnect aborts the handler signal', async t => {
  const cases = [
    { name: 'deadline passes', timeoutMs: 200, abortMs: undefined, reason: /deadline passed/ },
    { name: 'hook goes away', timeoutMs: 60_000, abortMs: 150, reason: /went away/ },
  ]
  for (const c of cases) {
    const seen: { reason?: unknown } = {}
    const { attach, server } = await serve(t, new Recorder(waitForAbort(seen)))
    const ac = new AbortController()
    if (c.abortMs)
      setTimeout(() => {
        ac.abort()
      }, c.abortMs)
    const started = Date.now()
    const outcome = await attach(REQ, { timeoutMs: c.timeoutMs, signal: ac.signal }).then(
      () => 'answered',
      (err: unknown) => (err as { code?: string }).code,
    )
    t.ok(Date.now() - started < 2000, c.name)
    // The server does not answer after the deadline: the connection just ends.
    t.match(outcome, /ECONNRESET|ABORTED/, c.name)
    await new Promise(r => setTimeout(r, 50))
    t.match(seen.reason, { code: 'NDRA_HOOK_TIMEOUT', message: c.reason }, c.name)
    t.equal(server.inflight, 0, c.name)
  }
})

t.test('stop drains in-flight attaches within the grace period; 503 meanwhile', async t => {
  const rec = new Recorder(async () => {
    await new Promise(r => setTimeout(r, 300))
    return { ok: true, message: 'late but fine' }
  })
  const { attach, server, socketPath } = await serve(t, rec)
  const pending = attach(REQ)
  await new Promise(r => setTimeout(r, 50))
  t.equal(server.inflight, 1)
  await server.stop(5000)
  t.equal((await pending).message, 'late but fine')
  t.notOk(existsSync(socketPath), 'socket removed')
  await t.rejects(attach(REQ), { code: 'ENOENT' }, 'no listener after stop')
  await server.stop(10) // idempotent
})

t.test('a call whose body completes while stopping is answered 503 NDRA_SHUTTING_DOWN', async t => {
  const rec = new Recorder(async () => ({ ok: true, message: '' }))
  const { server, socketPath } = await serve(t, rec)
  const { request } = await import('node:http')
  const body = Buffer.from(attachBody(REQ))
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: ATTACH_PATH,
        method: 'POST',
        headers: { [TIMEOUT_HEADER]: '5000', 'content-length': String(body.length) },
      },
      r => {
        let text = ''
        r.on('data', (d: Buffer) => (text += d.toString()))
        r.on('end', () => {
          resolve({ status: r.statusCode ?? 0, body: text })
        })
      },
    )
    req.on('error', reject)
    req.write(body.subarray(0, 10))
    setTimeout(() => {
      const stopping = server.stop(5000)
      setTimeout(() => {
        req.end(body.subarray(10))
      }, 30)
      void stopping
    }, 50)
  })
  const r = await answer
  t.equal(r.status, 503)
  t.match(JSON.parse(r.body), {
    ok: false,
    message: 'plugin is shutting down [NDRA_SHUTTING_DOWN]',
  })
  t.equal(rec.seen.length, 0)
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
  t.match(await pending, { code: 'ECONNRESET' }, 'the hook sees a reset, which it retries')
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

t.test('a hook that goes away mid-body never reaches the handler', async t => {
  const rec = new Recorder(async () => ({ ok: true, message: 'fine' }))
  const { attach, server, socketPath } = await serve(t, rec)
  const { request } = await import('node:http')
  const body = Buffer.from(attachBody(REQ))
  await new Promise<void>(resolve => {
    const req = request({
      socketPath,
      path: ATTACH_PATH,
      method: 'POST',
      headers: { [TIMEOUT_HEADER]: '5000', 'content-length': String(body.length) },
    })
    req.on('error', () => {
      resolve()
    })
    req.write(body.subarray(0, 10))
    setTimeout(() => {
      req.destroy()
    }, 50)
  })
  await new Promise(r => setTimeout(r, 50))
  t.equal(rec.seen.length, 0)
  t.equal(server.inflight, 0)
  t.equal((await attach(REQ)).message, 'fine', 'the server still answers')
})
