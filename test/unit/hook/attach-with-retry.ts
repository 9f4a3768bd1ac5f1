// Invariant: the hook retries only what can heal (socket missing/refused/reset, UNAVAILABLE,
// GOAWAY/refused stream) with capped backoff, never past its deadline, and turns every other
// outcome into one final answer with a reason.
import t from 'tap'
import {
  ATTACH_METHOD_PATH,
  BACKOFF_MAX_MS,
  attachWithRetry,
  isRetryableTransport,
} from '../../../hook/attach-with-retry.js'
import {
  TransportError,
  type UnaryCallOptions,
  type UnaryCallResult,
} from '../../../hook/grpc-unix-call.js'
import { encodeAttachRequest } from '../../../hook/proto-codec.js'

type Step = UnaryCallResult | TransportError

function okReply(fields: number[]): UnaryCallResult {
  return { status: 0, statusMessage: '', message: Uint8Array.from(fields) }
}

// AttachReply{ok:true, interface_name:"net1", ips:["10.0.0.2/24"], mac:"m"}
const OK = okReply([
  0x08,
  0x01,
  0x1a,
  0x04,
  ...Buffer.from('net1'),
  0x22,
  0x0b,
  ...Buffer.from('10.0.0.2/24'),
  0x2a,
  0x01,
  0x6d,
])
// AttachReply{ok:false, message:"no master"}
const REFUSED = okReply([0x12, 0x09, ...Buffer.from('no master')])

function harness(steps: Step[], deadlineMs = 10_000) {
  let clock = 0
  const calls: UnaryCallOptions[] = []
  const sleeps: number[] = []
  const run = attachWithRetry({
    socketPath: '/run/x.sock',
    claimUid: 'u',
    request: 'net1',
    device: 'attachment-0',
    ociState: new TextEncoder().encode('{"id":"c","bundle":"/b"}'),
    deadline: deadlineMs,
    now: () => clock,
    sleep: async ms => {
      sleeps.push(ms)
      clock += ms
    },
    call: async opts => {
      calls.push(opts)
      clock += 1
      const s = steps.shift()
      if (!s) throw new TransportError('no more steps', 'ECONNREFUSED')
      if (s instanceof TransportError) throw s
      return s
    },
  })
  return { run, calls, sleeps }
}

t.test('first call succeeds', async t => {
  const h = harness([OK])
  t.same(await h.run, {
    ok: true,
    attempts: 1,
    interfaceName: 'net1',
    ips: ['10.0.0.2/24'],
    mac: 'm',
    message: '',
  })
  t.equal(h.calls[0]?.path, ATTACH_METHOD_PATH)
  t.equal(h.calls[0]?.timeoutMs, 10_000)
  t.same(
    h.calls[0]?.message,
    encodeAttachRequest({
      claimUid: 'u',
      request: 'net1',
      device: 'attachment-0',
      ociState: new TextEncoder().encode('{"id":"c","bundle":"/b"}'),
    }),
  )
})

t.test('retries while the plugin restarts, with growing capped backoff', async t => {
  const h = harness([
    new TransportError('x', 'ENOENT'),
    new TransportError('x', 'ECONNREFUSED'),
    { status: 14, statusMessage: 'shutting down', message: new Uint8Array(0) },
    new TransportError('x', 'EH2_REFUSED'),
    new TransportError('x', 'ECLOSED'),
    new TransportError('x', 'EH2_GOAWAY'),
    new TransportError('x', 'ECONNRESET'),
    OK,
  ])
  const r = await h.run
  t.equal(r.ok, true)
  t.equal(r.attempts, 8)
  t.same(h.sleeps, [25, 50, 100, 200, 200, 200, 200])
  t.ok(h.sleeps.every(s => s <= BACKOFF_MAX_MS))
  // each retry tells the server how much time is left
  t.ok((h.calls[7]?.timeoutMs ?? 0) < (h.calls[0]?.timeoutMs ?? 0))
})

t.test('gives up at the deadline with the last error', async t => {
  const h = harness([], 1000)
  const r = await h.run
  t.equal(r.ok, false)
  if (!r.ok) {
    t.match(
      r.reason,
      /no answer before the deadline; last error: cannot connect to \/run\/x.sock \(ECONNREFUSED\); is the network-dra plugin running/,
    )
  }
  t.ok(h.sleeps.reduce((a, b) => a + b, 0) <= 1000, 'never sleeps past the deadline')
})

const finals: { name: string; step: Step; reason: RegExp }[] = [
  { name: 'plugin refuses', step: REFUSED, reason: /^no master$/ },
  { name: 'plugin refuses without reason', step: okReply([]), reason: /refused without a reason/ },
  {
    name: 'gRPC error status',
    step: { status: 3, statusMessage: 'invalid OCI state', message: new Uint8Array(0) },
    reason: /rejected the call \(gRPC 3\): invalid OCI state/,
  },
  {
    name: 'gRPC error without message',
    step: { status: 12, statusMessage: '', message: new Uint8Array(0) },
    reason: /gRPC 12\): no message/,
  },
  {
    name: 'malformed reply',
    step: okReply([0x0a, 0x01, 0x00]),
    reason: /malformed reply from plugin/,
  },
  {
    name: 'protocol error',
    step: new TransportError('HTTP status 415', 'EPROTO'),
    reason: /HTTP status 415 \(EPROTO\)/,
  },
  {
    name: 'permission denied',
    step: new TransportError('connect EACCES', 'EACCES'),
    reason: /EACCES/,
  },
  {
    name: 'deadline during the call',
    step: new TransportError('call aborted', 'ABORTED'),
    reason: /did not answer before the deadline/,
  },
]
for (const f of finals) {
  t.test(`final: ${f.name}`, async t => {
    const h = harness([f.step])
    const r = await h.run
    t.equal(r.ok, false)
    t.equal(r.attempts, 1)
    if (!r.ok) t.match(r.reason, f.reason)
  })
}

t.test('non-TransportError failures of the call are final', async t => {
  const r = await attachWithRetry({
    socketPath: '/s',
    claimUid: 'u',
    request: 'r',
    device: 'd',
    ociState: new Uint8Array(0),
    deadline: Date.now() + 1000,
    call: async () => {
      throw new Error('boom')
    },
  })
  t.same(r, { ok: false, attempts: 1, reason: 'boom (EUNKNOWN)' })
})

t.test('real timer aborts a call that hangs past the deadline', async t => {
  const started = Date.now()
  const r = await attachWithRetry({
    socketPath: '/s',
    claimUid: 'u',
    request: 'r',
    device: 'd',
    ociState: new Uint8Array(0),
    deadline: Date.now() + 100,
    call: opts =>
      new Promise((_, reject) => {
        opts.signal.addEventListener('abort', () => {
          reject(new TransportError('call aborted', 'ABORTED'))
        })
      }),
  })
  t.equal(r.ok, false)
  t.ok(Date.now() - started < 1000)
})

t.test('retryable codes', async t => {
  for (const c of [
    'ENOENT',
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'EAGAIN',
    'ECLOSED',
    'EH2_GOAWAY',
    'EH2_REFUSED',
  ]) {
    t.ok(isRetryableTransport(c), c)
  }
  for (const c of ['EACCES', 'EPROTO', 'EH2_RESET', 'ABORTED', 'EUNKNOWN'])
    t.notOk(isRetryableTransport(c), c)
})
