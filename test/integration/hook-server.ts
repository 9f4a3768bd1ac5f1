// Invariant: the shipped single-executable hook (dist/hook/network-dra-hook), run as runc runs it
// (argv from the CDI spec, OCI state on stdin), attaches through a real HookServer on a real Unix
// socket: exit 0 on success; otherwise exit 1 with exactly one line on stderr; it retries while
// the plugin is absent and never outlives its deadline.
import t, { type Test } from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  HookServer,
  type AttachHandler,
  type AttachReply,
  type AttachRequest,
} from '../../src/attach/hook-server.js'
import { DriverError } from '../../src/errors.js'
import { silentLogger } from '../../src/logger.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const HOOK = join(root, 'dist', 'hook', 'network-dra-hook')

/** Build the hook unless the binary is newer than every hook source. */
function ensureHookBuilt(): void {
  const sources = readdirSync(join(root, 'hook')).filter(f => f.endsWith('.ts'))
  const newest = Math.max(...sources.map(f => statSync(join(root, 'hook', f)).mtimeMs))
  let built: number
  try {
    built = statSync(HOOK).mtimeMs
  } catch {
    built = 0
  }
  if (built < newest)
    execFileSync(process.execPath, [join(root, 'scripts', 'build', 'hook.mjs')], {
      stdio: 'inherit',
    })
}
ensureHookBuilt()

const STATE = {
  ociVersion: '1.2.1',
  id: 'f00dcafe',
  status: 'creating',
  pid: 31337,
  bundle: '/run/containerd/io.containerd.runtime.v2.task/k8s.io/f00dcafe',
  annotations: {
    'io.kubernetes.cri.sandbox-id': 'f00dcafe',
    'io.kubernetes.cri.sandbox-name': 'demo',
  },
}

interface HookRun {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

function runHook(args: string[], stdin: string | undefined): Promise<HookRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(HOOK, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', code => {
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
    if (stdin === undefined) {
      child.stdin.write('{"id":') // never closed: a runtime that hangs mid-write
    } else {
      child.stdin.end(stdin)
    }
  })
}

function attachArgs(socketPath: string, timeoutMs: number, request = 'net1'): string[] {
  return [
    'attach',
    '--claim',
    'uid-1234',
    '--request',
    request,
    '--device',
    'attachment-7',
    '--socket',
    socketPath,
    '--timeout-ms',
    String(timeoutMs),
  ]
}

class Recorder implements AttachHandler {
  seen: AttachRequest[] = []
  aborted: unknown[] = []
  constructor(
    private readonly impl: (req: AttachRequest, signal: AbortSignal) => Promise<AttachReply>,
  ) {}
  attach(req: AttachRequest, signal: AbortSignal): Promise<AttachReply> {
    this.seen.push(req)
    signal.addEventListener('abort', () => this.aborted.push(signal.reason))
    return this.impl(req, signal)
  }
}

function socketIn(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-hook-it-'))
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  return join(dir, 'run', 'hook.sock')
}

async function serve(
  t: Test,
  handler: AttachHandler,
  socketPath = socketIn(t),
): Promise<HookServer> {
  const server = new HookServer({ socketPath, handler, logger: silentLogger() })
  await server.start()
  t.teardown(() => server.stop(200))
  return server
}

t.test('--version', async t => {
  const r = await runHook(['--version'], '')
  t.equal(r.code, 0)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  t.equal(r.stdout, `network-dra-hook ${pkg.version}\n`)
})

t.test('success: exit 0, nothing on stderr, the handler saw every field', async t => {
  const socketPath = socketIn(t)
  const rec = new Recorder(async () => ({
    ok: true,
    message: 'attached',
    interfaceName: 'net1',
    ips: ['10.9.0.2/24'],
  }))
  await serve(t, rec, socketPath)
  const r = await runHook(attachArgs(socketPath, 5000), JSON.stringify(STATE))
  t.equal(r.code, 0)
  t.equal(r.stderr, '')
  t.same(rec.seen, [
    { claimUid: 'uid-1234', request: 'net1', device: 'attachment-7', state: STATE },
  ])
  t.comment(`hook round trip ${r.ms} ms`)
})

t.test('a large state (200 KiB of annotations) goes through', async t => {
  const socketPath = socketIn(t)
  const rec = new Recorder(async () => ({ ok: true, message: '' }))
  await serve(t, rec, socketPath)
  const state = { ...STATE, annotations: { big: 'z'.repeat(200 * 1024) } }
  const r = await runHook(attachArgs(socketPath, 5000), JSON.stringify(state))
  t.equal(r.code, 0, r.stderr)
  t.equal(rec.seen[0]?.state.annotations?.big?.length, 200 * 1024)
})

t.test('handler failure: exit 1 with our one line on stderr', async t => {
  const socketPath = socketIn(t)
  await serve(
    t,
    new Recorder(async () => {
      throw new DriverError(
        'NDRA_CNI_PLUGIN',
        'plugin type="macvlan" name="lan" failed (add):\nLink not found',
      )
    }),
    socketPath,
  )
  const r = await runHook(attachArgs(socketPath, 5000), JSON.stringify(STATE))
  t.equal(r.code, 1)
  t.equal(
    r.stderr,
    'network-dra: attach net1/attachment-7 for claim uid-1234 failed: plugin type="macvlan" name="lan" failed (add): Link not found [NDRA_CNI_PLUGIN]\n',
  )
})

t.test('malformed state: exit 1, the plugin says what is wrong', async t => {
  const socketPath = socketIn(t)
  const rec = new Recorder(async () => ({ ok: true, message: '' }))
  await serve(t, rec, socketPath)
  const r = await runHook(attachArgs(socketPath, 5000), '{"id":"x"}')
  t.equal(r.code, 1)
  t.match(
    r.stderr,
    /^network-dra: attach net1\/attachment-7 for claim uid-1234 failed: plugin rejected the call \(HTTP 400\): invalid OCI state from hook: "bundle" is required \[NDRA_HOOK_PROTOCOL\]\n$/,
  )
  t.equal(rec.seen.length, 0)
})

t.test('bad arguments: exit 1, one line', async t => {
  const r = await runHook(['attach', '--claim', 'x'], '')
  t.equal(r.code, 1)
  t.match(
    r.stderr,
    /^network-dra: invalid hook arguments: missing --request, --device, --socket, --timeout-ms; usage: .*\n$/,
  )
})

t.test('server absent: retries, then fails at its deadline', async t => {
  const socketPath = socketIn(t)
  const r = await runHook(attachArgs(socketPath, 1500), JSON.stringify(STATE))
  t.equal(r.code, 1)
  t.match(
    r.stderr,
    /^network-dra: attach net1\/attachment-7 for claim uid-1234 failed: no answer before the deadline; last error: cannot connect to .*hook\.sock \(ENOENT\); is the network-dra plugin running on this node\?\n$/,
  )
  t.ok(r.ms >= 1400, `waited until the deadline (${r.ms} ms)`)
  t.ok(r.ms < 1500 + 700, `did not outlive the deadline by much (${r.ms} ms)`)
  t.comment(`absent server: hook gave up after ${r.ms} ms (deadline 1500 ms)`)
})

t.test('server started late: the hook gets through on a retry', async t => {
  const socketPath = socketIn(t)
  const rec = new Recorder(async () => ({ ok: true, message: 'ok' }))
  const pending = runHook(attachArgs(socketPath, 5000), JSON.stringify(STATE))
  await new Promise(r => setTimeout(r, 500))
  await serve(t, rec, socketPath)
  const r = await pending
  t.equal(r.code, 0, r.stderr)
  t.equal(rec.seen.length, 1)
  t.ok(r.ms >= 500, `took ${r.ms} ms`)
  t.comment(`late server: hook succeeded after ${r.ms} ms`)
})

t.test(
  'handler slower than the deadline: the hook stops waiting and the handler is told',
  async t => {
    const socketPath = socketIn(t)
    const rec = new Recorder(
      (_req, signal) =>
        new Promise(resolve => {
          signal.addEventListener('abort', () => {
            resolve({ ok: false, message: 'gave up' })
          })
        }),
    )
    await serve(t, rec, socketPath)
    const r = await runHook(attachArgs(socketPath, 800), JSON.stringify(STATE))
    t.equal(r.code, 1)
    t.match(
      r.stderr,
      /^network-dra: attach net1\/attachment-7 for claim uid-1234 failed: .*(deadline|timed out|DEADLINE).*\n$/,
    )
    t.ok(r.ms >= 700 && r.ms < 800 + 700, `exited at ${r.ms} ms for an 800 ms deadline`)
    await new Promise(r => setTimeout(r, 100))
    t.match(rec.aborted, [{ code: 'NDRA_HOOK_TIMEOUT' }])
  },
)

t.test('stdin never closed: the watchdog ends the hook just after its deadline', async t => {
  const socketPath = socketIn(t)
  const rec = new Recorder(async () => ({ ok: true, message: '' }))
  await serve(t, rec, socketPath)
  const r = await runHook(attachArgs(socketPath, 600), undefined)
  t.equal(r.code, 1)
  t.equal(
    r.stderr,
    'network-dra: attach net1/attachment-7 for claim uid-1234 failed: timed out after 600 ms\n',
  )
  t.ok(r.ms >= 600 && r.ms < 600 + 700, `exited at ${r.ms} ms`)
  t.equal(rec.seen.length, 0)
})
