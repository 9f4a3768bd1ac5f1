/**
 * The plugin's HTTP endpoint: `/metrics` (Prometheus text), `/healthz` (liveness: the process
 * serves and its own checks pass) and `/readyz` (readiness: registered with the kubelet, slices
 * published, state loaded). Each check is an injected function so the endpoint reflects real state.
 *
 * Two plugin instances share a node during a rolling update (hostNetwork), so nothing here may be
 * something only one of them can hold:
 * - the same routes are served on a Unix socket at a per-instance path (`socketPath`, in the pod's
 *   own emptyDir), which the chart's exec probes query: a probe always reaches its own instance;
 * - the TCP port (metrics scraping) can be held by one instance only. When it is taken, the
 *   instance keeps serving on its socket and retries the port every `retryMs` until the other
 *   instance lets it go (logged at info: it is the normal overlap, not a fault).
 */
import { lstat, unlink } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from '../logger.js'
import { errorMessage } from '../errors.js'

/** A named check; resolves to undefined when healthy, or a short reason when not. */
export interface HealthCheck {
  readonly name: string
  check(): Promise<string | undefined> | string | undefined
}

export interface HttpServerOptions {
  /** `host:port` or `:port`; empty = no TCP listener. */
  readonly address: string
  /** Unix socket path serving the same routes; omitted = none. */
  readonly socketPath?: string
  /** Delay between attempts to take a TCP port that is in use. Default 1000 ms. */
  readonly retryMs?: number
  readonly registry: Registry
  readonly liveness: readonly HealthCheck[]
  readonly readiness: readonly HealthCheck[]
  readonly logger: Logger
}

/** Split `host:port` / `:port` / `[v6]:port` into parts. */
export function parseAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':')
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host: host === '' ? '0.0.0.0' : host, port: Number(address.slice(i + 1)) }
}

async function runChecks(checks: readonly HealthCheck[]): Promise<string[]> {
  const failures: string[] = []
  for (const c of checks) {
    try {
      const reason = await c.check()
      if (reason !== undefined) failures.push(`${c.name}: ${reason}`)
    } catch (err) {
      failures.push(`${c.name}: ${errorMessage(err)}`)
    }
  }
  return failures
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code
}

/** Serves metrics and health over plain HTTP (TCP and/or a Unix socket). */
export class HttpServer {
  readonly #opts: HttpServerOptions
  #tcp: Server | undefined
  #unix: Server | undefined
  #retry: NodeJS.Timeout | undefined
  #stopped = false
  #port: number | undefined

  constructor(opts: HttpServerOptions) {
    this.#opts = opts
  }

  /** The bound TCP port, once bound (undefined while another instance holds it). */
  get port(): number | undefined {
    return this.#port
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]
    const send = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'content-type': type })
      res.end(body)
    }
    const health = async (checks: readonly HealthCheck[]): Promise<void> => {
      const failures = await runChecks(checks)
      if (failures.length === 0) send(200, 'text/plain', 'ok\n')
      else send(503, 'text/plain', `${failures.join('\n')}\n`)
    }
    const route = async (): Promise<void> => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(405, 'text/plain', 'method not allowed\n')
        return
      }
      switch (path) {
        case '/metrics': {
          send(200, this.#opts.registry.contentType, await this.#opts.registry.metrics())
          return
        }
        case '/healthz':
        case '/livez':
          return health(this.#opts.liveness)
        case '/readyz':
          return health(this.#opts.readiness)
        default: {
          send(404, 'text/plain', 'not found\n')
          return
        }
      }
    }
    route().catch((err: unknown) => {
      this.#opts.logger.error({ err: errorMessage(err), path }, 'http handler failed')
      if (!res.headersSent) send(500, 'text/plain', 'internal error\n')
    })
  }

  /**
   * Listen on the socket (a stale socket file is replaced) and try the TCP port. Resolves with the
   * bound port, or undefined when it is in use (then retried in the background until `stop`).
   * Other listen errors reject.
   */
  async start(): Promise<number | undefined> {
    const socketPath = this.#opts.socketPath
    if (socketPath !== undefined && socketPath !== '') {
      try {
        if ((await lstat(socketPath)).isSocket()) await unlink(socketPath)
      } catch (err: unknown) {
        if (!isErrno(err, 'ENOENT')) throw err
      }
      const unix = createServer((req, res) => {
        this.#handle(req, res)
      })
      await listen(unix, { path: socketPath })
      this.#unix = unix
      this.#opts.logger.info({ socket: socketPath }, 'health socket listening')
    }
    if (this.#opts.address === '') return undefined
    return this.#tryTcp(true)
  }

  async #tryTcp(first: boolean): Promise<number | undefined> {
    const { host, port } = parseAddress(this.#opts.address)
    const tcp = createServer((req, res) => {
      this.#handle(req, res)
    })
    try {
      await listen(tcp, { port, host })
    } catch (err: unknown) {
      if (!isErrno(err, 'EADDRINUSE')) throw err
      if (first) {
        this.#opts.logger.info(
          { address: `${host}:${port}` },
          'http port in use (another plugin instance during a rolling update?); retrying until it is free',
        )
      }
      if (!this.#stopped) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined
          this.#tryTcp(false).catch((e: unknown) => {
            this.#opts.logger.error({ err: errorMessage(e) }, 'http server cannot listen')
          })
        }, this.#opts.retryMs ?? 1_000)
      }
      return undefined
    }
    if (this.#stopped) {
      await close(tcp)
      return undefined
    }
    this.#tcp = tcp
    const addr = tcp.address()
    this.#port = typeof addr === 'object' && addr !== null ? addr.port : port
    this.#opts.logger.info({ address: `${host}:${this.#port}` }, 'http server listening')
    return this.#port
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#retry)
    const servers = [this.#tcp, this.#unix].filter((x): x is Server => x !== undefined)
    this.#tcp = undefined
    this.#unix = undefined
    await Promise.all(servers.map(close))
  }
}

function listen(
  server: Server,
  where: { port: number; host: string } | { path: string },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(where, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise<void>(resolve =>
    server.close(() => {
      resolve()
    }),
  )
}
