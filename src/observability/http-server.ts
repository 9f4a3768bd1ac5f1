/**
 * The plugin's HTTP endpoint: `/metrics` (Prometheus text), `/healthz` (liveness: the process
 * serves and its own checks pass) and `/readyz` (readiness: registered with the kubelet, slices
 * published, state loaded). Each check is an injected function so the endpoint reflects real state.
 */
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from '../logger.js'
import { errorMessage } from '../errors.js'

/** A named check; resolves to undefined when healthy, or a short reason when not. */
export interface HealthCheck {
  readonly name: string
  check(): Promise<string | undefined> | string | undefined
}

export interface HttpServerOptions {
  /** `host:port` or `:port`. */
  readonly address: string
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

/** Serves metrics and health over plain HTTP. */
export class HttpServer {
  readonly #opts: HttpServerOptions
  #server: Server | undefined

  constructor(opts: HttpServerOptions) {
    this.#opts = opts
  }

  /** Listen; resolves with the bound port (useful when the configured port is 0). */
  async start(): Promise<number> {
    const { host, port } = parseAddress(this.#opts.address)
    const server = createServer((req, res) => {
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
    })
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const addr = server.address()
    const bound = typeof addr === 'object' && addr !== null ? addr.port : port
    this.#opts.logger.info({ address: `${host}:${bound}` }, 'http server listening')
    return bound
  }

  async stop(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve =>
      server.close(() => {
        resolve()
      }),
    )
  }
}
