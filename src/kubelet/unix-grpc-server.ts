/**
 * A grpc-js server bound to one Unix socket, with the socket-file discipline the kubelet expects:
 * stale socket removed before listening, our socket removed when we stop (so the kubelet's plugin
 * watcher sees the Remove event and deregisters us), graceful stop with a forced fallback.
 */
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js'
import { DriverError } from '../errors.js'
import type { Logger } from '../logger.js'
import {
  removeOwnSocket,
  removeStaleSocket,
  socketIdentity,
  type SocketIdentity,
} from './plugin-sockets.js'

export interface UnixGrpcServerOptions {
  readonly socketPath: string
  readonly logger: Logger
  /** Create the socket's directory (mode 0750) when missing; otherwise a missing directory is an error. */
  readonly createDir?: boolean
}

/** One gRPC server on one Unix socket; add services, then `start()`, later `stop()`. */
export class UnixGrpcServer {
  readonly socketPath: string
  readonly #logger: Logger
  readonly #createDir: boolean
  readonly #server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 })
  #identity: SocketIdentity | undefined
  #state: 'new' | 'started' | 'stopped' = 'new'

  constructor(opts: UnixGrpcServerOptions) {
    this.socketPath = opts.socketPath
    this.#logger = opts.logger
    this.#createDir = opts.createDir ?? false
  }

  /** Registers a service; only before `start()`. */
  addService(def: ServiceDefinition, impl: UntypedServiceImplementation): void {
    if (this.#state !== 'new') {
      throw new DriverError(
        'NDRA_INTERNAL',
        `cannot add a service to ${this.socketPath} after start`,
      )
    }
    this.#server.addService(def, impl)
  }

  /** Removes a stale socket, then listens. */
  async start(): Promise<void> {
    if (this.#state !== 'new') {
      throw new DriverError('NDRA_INTERNAL', `server on ${this.socketPath} was already started`)
    }
    this.#state = 'started'
    if (this.#createDir) await mkdir(dirname(this.socketPath), { recursive: true, mode: 0o750 })
    if (await removeStaleSocket(this.socketPath)) {
      this.#logger.info({ socket: this.socketPath }, 'removed stale socket')
    }
    await new Promise<void>((resolve, reject) => {
      this.#server.bindAsync(`unix:${this.socketPath}`, ServerCredentials.createInsecure(), err => {
        if (err) {
          reject(
            new DriverError(
              'NDRA_INTERNAL',
              `cannot listen on ${this.socketPath}: ${err.message}`,
              { cause: err },
            ),
          )
        } else resolve()
      })
    })
    this.#identity = await socketIdentity(this.socketPath)
    this.#logger.info({ socket: this.socketPath }, 'gRPC server listening')
  }

  /**
   * Stops accepting calls, waits up to `graceMs` for running ones (streams included), then cuts
   * the rest off, and removes our socket file if it is still ours. Safe to call more than once.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#state === 'stopped') return
    const wasStarted = this.#state === 'started'
    this.#state = 'stopped'
    if (wasStarted) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>(resolve => {
        timer = setTimeout(() => {
          this.#server.forceShutdown()
          resolve()
        }, graceMs)
        this.#server.tryShutdown(() => {
          resolve()
        })
      })
      clearTimeout(timer)
    }
    if (this.#identity && (await removeOwnSocket(this.socketPath, this.#identity))) {
      this.#logger.info({ socket: this.socketPath }, 'removed own socket')
    }
  }
}
