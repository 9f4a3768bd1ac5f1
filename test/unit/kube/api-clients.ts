// Invariant: every API client made for one KubeConfig sends through one keep-alive TLS pool
// (sequential requests reuse their connection, unlike client-node's own makeApiClient, which opens
// one per request), authenticated by the KubeConfig as before; new TLS material (another CA) gets
// a new pool.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { join } from 'node:path'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { makeApiClient, pooledAuth } from '../../../src/kube/api-clients.js'

/** A self-signed certificate for 127.0.0.1 (openssl is a system package of the project). */
function selfSigned(dir: string, name: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, `${name}.key`)
  const cert = join(dir, `${name}.crt`)
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  )
  return { key: readFileSync(key), cert: readFileSync(cert) }
}

interface ApiServer {
  readonly url: string
  readonly connections: () => number
  readonly tokens: string[]
  readonly server: Server
}

/** An HTTPS server answering any GET with a Namespace named after the path's last segment. */
async function apiServer(tls: { key: Buffer; cert: Buffer }): Promise<ApiServer> {
  let connections = 0
  const tokens: string[] = []
  const server = createServer(tls, (req, res) => {
    tokens.push(req.headers.authorization ?? '')
    const name = (req.url ?? '').split('/').at(-1) ?? ''
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }))
  })
  server.on('secureConnection', () => {
    connections++
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    url: `https://127.0.0.1:${String(address.port)}`,
    connections: () => connections,
    tokens,
    server,
  }
}

function kubeConfig(server: string, ca: Buffer, tokenFile: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, caData: ca.toString('base64') }],
    users: [{ name: 'u', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  })
  return kc
}

t.test('one pool per KubeConfig, authenticated by it', async t => {
  const dir = t.testdir()
  const tls = selfSigned(dir, 'a')
  const api = await apiServer(tls)
  t.teardown(() => {
    api.server.closeAllConnections()
  })
  t.teardown(() => api.server.close())
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, 'first')
  const kc = kubeConfig(api.url, tls.cert, tokenFile)
  t.teardown(() => pooledAuth(kc).close())

  const cases: readonly { name: string; client: () => CoreV1Api; maxConnections: number }[] = [
    // client-node's own client: a new connection per request (what this module avoids).
    {
      name: "client-node's makeApiClient",
      client: () => kc.makeApiClient(CoreV1Api),
      maxConnections: 20,
    },
    {
      name: 'makeApiClient (pooled)',
      client: () => makeApiClient(kc, CoreV1Api),
      maxConnections: 1,
    },
  ]
  const seen: Record<string, number> = {}
  for (const c of cases) {
    const before = api.connections()
    const a = c.client()
    const b = c.client()
    for (let i = 0; i < 10; i++) {
      const ns = await (i % 2 === 0 ? a : b).readNamespace({ name: `n${String(i)}` })
      t.equal(ns.metadata?.name, `n${String(i)}`)
    }
    seen[c.name] = api.connections() - before
  }
  t.ok((seen["client-node's makeApiClient"] ?? 0) >= 10, `client-node: ${JSON.stringify(seen)}`)
  // undici may open a second connection while the first request's socket is being returned.
  t.ok(
    (seen['makeApiClient (pooled)'] ?? 99) <= 2,
    `ten sequential requests of two pooled clients: ${String(seen['makeApiClient (pooled)'])} connection(s)`,
  )
  t.equal(api.tokens.at(-1), 'Bearer first', "the KubeConfig's token is sent")
})

t.test('new TLS material gets a new pool', async t => {
  const dir = t.testdir()
  const first = selfSigned(dir, 'a')
  const second = selfSigned(dir, 'b')
  const api = await apiServer(first)
  t.teardown(() => {
    api.server.closeAllConnections()
  })
  t.teardown(() => api.server.close())
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, 'x')
  const kc = kubeConfig(api.url, first.cert, tokenFile)
  t.teardown(() => pooledAuth(kc).close())
  const client = makeApiClient(kc, CoreV1Api)
  await client.readNamespace({ name: 'one' })
  t.equal(api.connections(), 1)
  // The server's certificate changes (a CA rotation): the old pool's CA no longer verifies it.
  api.server.setSecureContext(second)
  const cluster = kc.getCurrentCluster()
  if (cluster === null) throw new Error('no cluster')
  Object.assign(cluster, { caData: second.cert.toString('base64') })
  api.server.closeAllConnections()
  await client.readNamespace({ name: 'two' })
  t.equal(api.connections(), 2, 'a new connection, verified with the new CA')
})
