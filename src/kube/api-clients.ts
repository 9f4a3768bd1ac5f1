/**
 * API clients that share one keep-alive connection pool per credentials. client-node's KubeConfig
 * authenticates every request by building a new undici Agent, so each API call opens (and the API
 * server accepts) a new TLS connection: under a burst of claims that handshake dominated the
 * claim reads and status writes. Here every client made for one KubeConfig authenticates through
 * the KubeConfig as before (token, CA and client certificate re-read per request, so rotated
 * service-account tokens and certificates are honoured) but sends through one pooled Agent, replaced
 * only when the TLS material changes.
 */
import { createHash } from 'node:crypto'
import type { RequestOptions } from 'node:https'
import {
  createConfiguration,
  ServerConfiguration,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node'
import { Agent } from 'undici'

/** How long an idle pooled connection stays open (client-go's idle timeout is 90 s). */
const KEEP_ALIVE_TIMEOUT_MS = 60_000
/** Sent with every request (the API server's audit log and metrics name clients by it). */
const USER_AGENT = 'network-dra'
/** TCP keep-alive probe delay, as client-node and client-go use. */
const TCP_KEEP_ALIVE_DELAY_MS = 30_000

/** The TLS material a request is sent with; a change of any of it needs a new pool. */
type TlsMaterial = Pick<
  RequestOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername'
>

function fingerprint(tls: TlsMaterial): string {
  const h = createHash('sha256')
  for (const [k, v] of Object.entries(tls).sort(([a], [b]) => a.localeCompare(b))) {
    h.update(`${k}\0`)
    for (const part of [v].flat()) {
      if (part instanceof Uint8Array) h.update(part)
      else h.update(JSON.stringify(part))
      h.update('\0')
    }
  }
  return h.digest('hex')
}

/** KubeConfig authentication with a pooled, keep-alive connection per TLS material. */
export class PooledKubeAuth implements SecurityAuthentication {
  readonly #kc: KubeConfig
  #pool: { readonly key: string; readonly agent: Agent } | undefined

  constructor(kc: KubeConfig) {
    this.#kc = kc
  }

  getName(): string {
    return 'network-dra pooled kubeconfig'
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const opts: RequestOptions = {}
    await this.#kc.applyToHTTPSOptions(opts)
    const user = this.#kc.getCurrentUser()
    if (user?.username) {
      const basic = Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')
      context.setHeaderParam('Authorization', `Basic ${basic}`)
    }
    context.setHeaderParam('User-Agent', USER_AGENT)
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      if (value !== undefined) context.setHeaderParam(name, [value].flat().join(', '))
    }
    const tls: TlsMaterial = {}
    for (const k of [
      'ca',
      'cert',
      'key',
      'pfx',
      'passphrase',
      'rejectUnauthorized',
      'servername',
    ] as const) {
      if (opts[k] !== undefined) Object.assign(tls, { [k]: opts[k] })
    }
    context.setDispatcher(this.#agentFor(tls))
  }

  /** Close the pooled connections (the daemon's shutdown). */
  async close(): Promise<void> {
    const pool = this.#pool
    this.#pool = undefined
    await pool?.agent.close()
  }

  #agentFor(tls: TlsMaterial): Agent {
    const key = fingerprint(tls)
    if (this.#pool?.key === key) return this.#pool.agent
    const previous = this.#pool?.agent
    const agent = new Agent({
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connect: { ...tls, keepAlive: true, keepAliveInitialDelay: TCP_KEEP_ALIVE_DELAY_MS },
    })
    this.#pool = { key, agent }
    // In-flight requests on the old pool finish; it then closes its connections.
    void previous?.close().catch(() => undefined)
    return agent
  }
}

const pooled = new WeakMap<KubeConfig, PooledKubeAuth>()

/** The pooled authentication every client of `kc` shares. */
export function pooledAuth(kc: KubeConfig): PooledKubeAuth {
  let auth = pooled.get(kc)
  if (auth === undefined) {
    auth = new PooledKubeAuth(kc)
    pooled.set(kc, auth)
  }
  return auth
}

/**
 * `kc.makeApiClient(Api)`, but sending through the connection pool shared by every client of `kc`.
 * Throws like client-node when the KubeConfig has no current cluster.
 */
export function makeApiClient<T>(
  kc: KubeConfig,
  Api: new (config: ReturnType<typeof createConfiguration>) => T,
): T {
  const cluster = kc.getCurrentCluster()
  if (cluster === null) throw new Error('No active cluster!')
  return new Api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: pooledAuth(kc) },
    }),
  )
}
