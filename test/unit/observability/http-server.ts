// Invariant: /metrics serves the registry, /healthz and /readyz report 503 with every failing
// check's reason and 200 only when all checks pass; unknown paths 404.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { request } from 'node:http'
import { join } from 'node:path'
import { HttpServer, parseAddress } from '../../../src/observability/http-server.js'
import { Metrics } from '../../../src/observability/metrics.js'
import { silentLogger } from '../../../src/logger.js'

t.test('parseAddress', async t => {
  const cases = [
    { in: ':9465', want: { host: '0.0.0.0', port: 9465 } },
    { in: '127.0.0.1:80', want: { host: '127.0.0.1', port: 80 } },
    { in: '[::1]:8080', want: { host: '::1', port: 8080 } },
  ]
  for (const c of cases) t.same(parseAddress(c.in), c.want, c.in)
})

t.test('endpoints', async t => {
  const metrics = new Metrics({ defaultMetrics: false })
  metrics.rpcTotal.inc({ service: 'dra', method: 'NodePrepareResources', result: 'OK' })
  let ready: string | undefined = 'not registered with the kubelet'
  const server = new HttpServer({
    address: '127.0.0.1:0',
    registry: metrics.registry,
    liveness: [{ name: 'loop', check: () => undefined }],
    readiness: [
      { name: 'registration', check: () => ready },
      { name: 'throws', check: () => (ready ? Promise.reject(new Error('boom')) : undefined) },
    ],
    logger: silentLogger(),
  })
  const port = await server.start()
  t.teardown(() => server.stop())
  const get = async (p: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`)
    return { status: r.status, body: await r.text() }
  }
  const m = await get('/metrics')
  t.equal(m.status, 200)
  t.match(
    m.body,
    'network_dra_rpc_total{service="dra",method="NodePrepareResources",result="OK"} 1',
  )
  t.same(await get('/healthz'), { status: 200, body: 'ok\n' })
  t.same(await get('/readyz'), {
    status: 503,
    body: 'registration: not registered with the kubelet\nthrows: boom\n',
  })
  ready = undefined
  t.same(await get('/readyz'), { status: 200, body: 'ok\n' })
  t.equal((await get('/nope')).status, 404)
  const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })
  t.equal(post.status, 405)
})

// Invariant (rolling-update overlap): the health routes are served on a per-instance Unix socket,
// and a TCP port held by another instance is retried (not fatal) and taken once it is free.
t.test('health socket and a busy TCP port', async t => {
  const metrics = new Metrics({ defaultMetrics: false })
  const holder = new HttpServer({
    address: '127.0.0.1:0',
    registry: metrics.registry,
    liveness: [],
    readiness: [],
    logger: silentLogger(),
  })
  const port = await holder.start()
  t.ok(port)
  const dir = mkdtempSync(join(tmpdir(), 'ndra-http-'))
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const socketPath = join(dir, 'h.sock')
  const second = new HttpServer({
    address: `127.0.0.1:${port}`,
    socketPath,
    retryMs: 20,
    registry: metrics.registry,
    liveness: [{ name: 'self', check: () => 'second instance' }],
    readiness: [],
    logger: silentLogger(),
  })
  t.equal(await second.start(), undefined, 'port busy: not bound yet')
  t.teardown(() => second.stop())
  const viaSocket = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const r = request({ socketPath, path: '/healthz' }, res => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    r.on('error', reject)
    r.end()
  })
  t.same(viaSocket, { status: 503, body: 'self: second instance\n' }, 'its own checks')
  await holder.stop()
  for (let i = 0; i < 100 && second.port === undefined; i++) {
    await new Promise(r => setTimeout(r, 20))
  }
  t.equal(second.port, port, 'took the port once it was free')
})
