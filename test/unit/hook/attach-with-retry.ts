// Invariant: the hook sends one JSON POST carrying its remaining time, retries only what can heal
// (socket missing/refused/reset, HTTP 503) with capped backoff, never past its deadline, and turns
// every other outcome into one final answer with a reason.
import t from 'tap'
import {
  ATTACH_PATH,
  BACKOFF_MAX_MS,
  TIMEOUT_HEADER,
  attachBody,
  attachWithRetry,
  isRetryableTransport,
} from '../../../hook/attach-with-retry.js'
import { TransportError, type PostOptions, type PostResult } from '../../../hook/http-unix-post.js'

type Step = PostResult | TransportError

const enc = new TextEncoder()
const json = (status: number, v: unknown): PostResult => ({
  status,
  body: enc.encode(JSON.stringify(v)),
})

const OK = json(200, {
  ok: true,
  message: '',
  interfaceName: 'net1',
  ips: ['10.0.0.2/24'],
  mac: 'm',
  addedInAFutureVersion: 1,
})
const STATE = '{"id":"c","bundle":"/b"}'

function harness(steps: Step[], deadlineMs = 10_000) {
  let clock = 0
  const calls: PostOptions[] = []
  const sleeps: number[] = []
  const run = attachWithRetry({
    socketPath: '/run/x.sock',
    claimUid: 'u',
    request: 'net1',
    device: 'attachment-0',
    ociState: enc.encode(STATE),
    deadline: deadlineMs,
    now: () => clock,
    sleep: async ms => {
      sleeps.push(ms)
      clock += ms
    },
    post: async opts => {
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

t.test('first call succeeds; the request is the contract', async t => {
  const h = harness([OK])
  t.same(await h.run, {
    ok: true,
    attempts: 1,
    interfaceName: 'net1',
    ips: ['10.0.0.2/24'],
    mac: 'm',
    message: '',
  })
  const c = h.calls[0]
  t.equal(c?.path, ATTACH_PATH)
  t.equal(c?.headers[TIMEOUT_HEADER], '10000')
  t.equal(c?.headers['content-type'], 'application/json')
  t.equal(c?.headers.connection, 'close')
  t.same(JSON.parse(new TextDecoder().decode(c?.body)), {
    ociState: JSON.parse(STATE),
    claimUid: 'u',
    request: 'net1',
    device: 'attachment-0',
  })
})

t.test('body: the state is embedded as is, first, and cannot override the fields', async t => {
  const cases = [
    { state: STATE, parses: true },
    { state: '{"id":"c","bundle":"/b"},"claimUid":"evil"', parses: true },
    { state: '', parses: false },
    { state: '{"id":', parses: false },
    { state: '{"id":"c"}} trailing', parses: false },
  ]
  for (const c of cases) {
    const text = new TextDecoder().decode(
      attachBody({ claimUid: 'u"\n', request: 'r', device: 'd', ociState: enc.encode(c.state) }),
    )
    if (!c.parses) {
      t.throws(() => {
        JSON.parse(text)
      }, c.state)
      continue
    }
    const doc = JSON.parse(text) as Record<string, unknown>
    t.equal(doc.claimUid, 'u"\n', c.state)
  }
})

t.test('retries while the plugin restarts, with growing capped backoff', async t => {
  const h = harness([
    new TransportError('x', 'ENOENT'),
    new TransportError('x', 'ECONNREFUSED'),
    json(503, { ok: false, message: 'plugin is shutting down [NDRA_SHUTTING_DOWN]' }),
    new TransportError('x', 'ECONNRESET'),
    new TransportError('x', 'EPIPE'),
    { status: 503, body: new Uint8Array(0) },
    new TransportError('x', 'EPROTO'),
    OK,
  ])
  const r = await h.run
  t.equal(r.ok, true)
  t.equal(r.attempts, 8)
  t.same(h.sleeps, [25, 50, 100, 200, 200, 200, 200])
  t.ok(h.sleeps.every(s => s <= BACKOFF_MAX_MS))
  // each retry tells the server how much time is left
  t.ok(Number(h.calls[7]?.headers[TIMEOUT_HEADER]) < Number(h.calls[0]?.headers[TIMEOUT_HEADER]))
})

t.test('gives up at the deadline with the last error', async t => {
  const cases = [
    {
      steps: [],
      reason:
        /no answer before the deadline; last error: cannot connect to \/run\/x.sock \(ECONNREFUSED\); is the network-dra plugin running/,
    },
    {
      steps: Array.from({ length: 50 }, () =>
        json(503, { ok: false, message: 'plugin is shutting down' }),
      ),
      reason:
        /no answer before the deadline; last error: plugin unavailable: plugin is shutting down$/,
    },
  ]
  for (const c of cases) {
    const h = harness(c.steps, 1000)
    const r = await h.run
    t.equal(r.ok, false)
    if (!r.ok) t.match(r.reason, c.reason)
    t.ok(h.sleeps.reduce((a, b) => a + b, 0) <= 1000, 'never sleeps past the deadline')
  }
})

const finals: { name: string; step: Step; reason: RegExp }[] = [
  {
    name: 'plugin refuses',
    step: json(200, { ok: false, message: 'no master' }),
    reason: /^no master$/,
  },
  {
    name: 'plugin refuses without reason',
    step: json(200, { ok: false }),
    reason: /refused without a reason/,
  },
  {
    name: 'protocol error (400)',
    step: json(400, { ok: false, message: 'invalid OCI state [NDRA_HOOK_PROTOCOL]' }),
    reason: /^plugin rejected the call \(HTTP 400\): invalid OCI state \[NDRA_HOOK_PROTOCOL\]$/,
  },
  {
    name: 'error status without JSON',
    step: { status: 502, body: enc.encode('Bad Gateway\n') },
    reason: /\(HTTP 502\): Bad Gateway$/,
  },
  {
    name: 'error status without body',
    step: { status: 404, body: new Uint8Array(0) },
    reason: /\(HTTP 404\): no message$/,
  },
  {
    name: 'reply is not JSON',
    step: { status: 200, body: enc.encode('{"ok":') },
    reason: /malformed reply from plugin/,
  },
  {
    name: 'reply without ok',
    step: json(200, { message: 'hi' }),
    reason: /malformed reply from plugin: no boolean "ok"/,
  },
  {
    name: 'unknown transport failure',
    step: new TransportError('HTTP status 415', 'ESOMETHING'),
    reason: /HTTP status 415 \(ESOMETHING\)/,
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
    post: async () => {
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
    post: opts =>
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
  for (const c of ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EAGAIN', 'EPROTO']) {
    t.ok(isRetryableTransport(c), c)
  }
  for (const c of ['EACCES', 'ABORTED', 'EUNKNOWN', 'ETIMEDOUT'])
    t.notOk(isRetryableTransport(c), c)
})
