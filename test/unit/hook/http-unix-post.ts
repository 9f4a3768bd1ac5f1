// Invariant: one POST reaches an HTTP/1.1 server on a Unix socket with its path, headers and body
// and returns status and body; connection failures keep their errno code (the retry decision
// rests on it) and the caller's abort is reported as ABORTED. Under bun the same call goes through
// the runtime's fetch with the `unix` option.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ABORTED, postUnix, type PostOptions } from '../../../hook/http-unix-post.js'

function dir(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'ndra-post-'))
  t.teardown(() => {
    rmSync(d, { recursive: true, force: true })
  })
  return d
}

async function serve(
  t: Test,
  handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void,
): Promise<string> {
  const path = join(dir(t), 's.sock')
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      handler(req, Buffer.concat(chunks), res)
    })
  })
  await new Promise<void>(r => server.listen(path, r))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return path
}

const opts = (socketPath: string, signal = new AbortController().signal): PostOptions => ({
  socketPath,
  path: '/v1/attach',
  headers: { 'content-type': 'application/json', 'x-extra': 'y' },
  body: new TextEncoder().encode('{"a":1}'),
  signal,
})

t.test('round trip: path, headers and body arrive; status and body come back', async t => {
  const seen: { url: unknown; method: unknown; extra: unknown; body: string }[] = []
  const path = await serve(t, (req, body, res) => {
    seen.push({
      url: req.url,
      method: req.method,
      extra: req.headers['x-extra'],
      body: body.toString(),
    })
    res.writeHead(req.url === '/v1/attach' ? 201 : 404)
    res.end('reply')
  })
  const r = await postUnix(opts(path))
  t.equal(r.status, 201)
  t.equal(new TextDecoder().decode(r.body), 'reply')
  t.same(seen, [{ url: '/v1/attach', method: 'POST', extra: 'y', body: '{"a":1}' }])
})

t.test('failures keep their code', async t => {
  const d = dir(t)
  const stale = join(d, 'stale.sock')
  // A socket file without a listener: what a crashed plugin leaves behind.
  execFileSync(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`,
  ])
  const reset = await serve(t, (_req, _body, res) => {
    res.socket?.destroy()
  })
  const hang = await serve(t, () => undefined)
  // An HTTP/2-only server (what the previous release's plugin was) answers with binary frames.
  const h2 = join(d, 'h2.sock')
  const { createServer: createH2 } = await import('node:http2')
  const h2server = createH2()
  await new Promise<void>(r => h2server.listen(h2, r))
  t.teardown(() => h2server.close())
  const cases = [
    { name: 'missing socket', path: join(d, 'none.sock'), code: 'ENOENT' },
    { name: 'nobody listening', path: stale, code: 'ECONNREFUSED' },
    { name: 'connection reset', path: reset, code: 'ECONNRESET' },
    { name: 'not HTTP/1.1 (an HTTP/2 server)', path: h2, code: 'EPROTO' },
    { name: 'aborted by the caller', path: hang, code: ABORTED, abortMs: 50 },
  ]
  for (const c of cases) {
    const ac = new AbortController()
    if (c.abortMs)
      setTimeout(() => {
        ac.abort()
      }, c.abortMs)
    await t.rejects(
      postUnix(opts(c.path, ac.signal)),
      { name: 'TransportError', code: c.code },
      c.name,
    )
  }
})

t.test('under bun: fetch with the unix option', async t => {
  const g = globalThis as { Bun?: unknown; fetch: typeof fetch }
  const realFetch = g.fetch
  const calls: { url: string; init: Record<string, unknown> }[] = []
  let fail: Error | undefined
  g.Bun = {}
  g.fetch = (async (url: string, init: Record<string, unknown>) => {
    calls.push({ url, init })
    if (fail) throw fail
    return new Response('ok', { status: 503 })
  }) as unknown as typeof fetch
  t.teardown(() => {
    delete g.Bun
    g.fetch = realFetch
  })
  const r = await postUnix(opts('/run/x.sock'))
  t.equal(r.status, 503)
  t.equal(new TextDecoder().decode(r.body), 'ok')
  t.equal(calls[0]?.url, 'http://localhost/v1/attach')
  t.match(calls[0]?.init, { method: 'POST', unix: '/run/x.sock', headers: { 'x-extra': 'y' } })
  fail = Object.assign(new TypeError('ECONNREFUSED: Was there a typo'), { code: 'ECONNREFUSED' })
  await t.rejects(postUnix(opts('/run/x.sock')), { code: 'ECONNREFUSED', message: /\/run\/x.sock/ })
  const ac = new AbortController()
  ac.abort()
  fail = new DOMException('aborted', 'AbortError')
  await t.rejects(postUnix(opts('/run/x.sock', ac.signal)), { code: ABORTED })
  fail = Object.assign(new TypeError('Malformed_HTTP_Response fetching'), {
    code: 'Malformed_HTTP_Response',
  })
  await t.rejects(postUnix(opts('/run/x.sock')), { code: 'EPROTO' })
  fail = new Error('odd')
  await t.rejects(postUnix(opts('/run/x.sock')), { code: 'EUNKNOWN' })
})
