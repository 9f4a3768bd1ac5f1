/**
 * The plugin side of the kubelet's plugin registration API (`pluginregistration.Registration`) on
 * its own Unix socket in the kubelet's plugin registry directory. GetInfo answers at once with the
 * driver name, the absolute DRA socket path and the DRA services we serve; the kubelet then reports
 * the outcome through NotifyRegistrationStatus, which we record and expose (`status()`,
 * `waitRegistered()`). Like the Go helper, a `plugin_registered=false` notification is answered with
 * a gRPC error. Keep this server up for the plugin's whole life: newer kubelets re-probe GetInfo.
 */
import { isAbsolute } from 'node:path'
import {
  status as grpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js'
import { Metadata } from '@grpc/grpc-js'
import { DriverError } from '../errors.js'
import type { Logger } from '../logger.js'
import { DRA_PLUGIN_TYPE, type KubeletProtos } from './protos.js'
import { UnixGrpcServer } from './unix-grpc-server.js'

/** What the kubelet last told us about our registration. */
export interface RegistrationStatusView {
  /** True after the kubelet confirmed registration, false before and after a refusal. */
  readonly registered: boolean
  /** The kubelet's error text of the last refusal; empty when none. */
  readonly lastError: string
  /** When the last notification arrived; undefined before the first. */
  readonly updatedAt: Date | undefined
  /** Number of notifications received. */
  readonly notifications: number
  /** Number of GetInfo calls answered (the kubelet's discovery and re-probes). */
  readonly infoRequests: number
}

/** Wire shape of `PluginInfo` (proto-loader camelCase). */
export interface PluginInfoWire {
  type: string
  name: string
  endpoint: string
  supportedVersions: string[]
}

export interface RegistrationServerOptions {
  readonly socketPath: string
  readonly driverName: string
  /** Absolute path of the DRA socket, sent as `PluginInfo.endpoint`. */
  readonly draEndpoint: string
  /** DRA service names we serve, most preferred first (e.g. `v1.DRAPlugin`, `v1beta1.DRAPlugin`). */
  readonly supportedVersions: readonly string[]
  readonly protos: KubeletProtos
  readonly logger: Logger
  /** Clock seam. */
  readonly now?: () => Date
}

type StatusListener = (s: RegistrationStatusView) => void

/** Serves pluginregistration.Registration and remembers the kubelet's verdict. */
export class RegistrationServer {
  readonly socketPath: string
  readonly #info: PluginInfoWire
  readonly #logger: Logger
  readonly #now: () => Date
  readonly #server: UnixGrpcServer
  readonly #listeners = new Set<StatusListener>()
  #status: RegistrationStatusView = {
    registered: false,
    lastError: '',
    updatedAt: undefined,
    notifications: 0,
    infoRequests: 0,
  }

  constructor(opts: RegistrationServerOptions) {
    if (!isAbsolute(opts.draEndpoint)) {
      throw new DriverError(
        'NDRA_INVALID_CONFIG',
        `DRA endpoint must be absolute: ${opts.draEndpoint}`,
      )
    }
    if (opts.supportedVersions.length === 0) {
      throw new DriverError('NDRA_INVALID_CONFIG', 'at least one DRA service must be advertised')
    }
    this.socketPath = opts.socketPath
    this.#info = {
      type: DRA_PLUGIN_TYPE,
      name: opts.driverName,
      endpoint: opts.draEndpoint,
      supportedVersions: [...opts.supportedVersions],
    }
    this.#logger = opts.logger.child({ socket: opts.socketPath })
    this.#now = opts.now ?? (() => new Date())
    this.#server = new UnixGrpcServer({ socketPath: opts.socketPath, logger: this.#logger })
    this.#server.addService(opts.protos.registration, {
      GetInfo: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
        this.#status = { ...this.#status, infoRequests: this.#status.infoRequests + 1 }
        cb(null, this.pluginInfo())
      },
      NotifyRegistrationStatus: (
        call: ServerUnaryCall<unknown, unknown>,
        cb: sendUnaryData<unknown>,
      ) => {
        cb(this.#notify(call.request), {})
      },
    })
  }

  /** The PluginInfo answered to GetInfo. */
  pluginInfo(): PluginInfoWire {
    return { ...this.#info, supportedVersions: [...this.#info.supportedVersions] }
  }

  /** Starts listening on the registration socket (removing a stale one first). */
  async start(): Promise<void> {
    await this.#server.start()
  }

  /** Stops serving and removes the socket, which makes the kubelet deregister the plugin. */
  async stop(graceMs = 1_000): Promise<void> {
    await this.#server.stop(graceMs)
    this.#status = { ...this.#status, registered: false }
  }

  /** Latest registration status. */
  status(): RegistrationStatusView {
    return this.#status
  }

  /** Calls `listener` on every notification from the kubelet; returns the unsubscribe function. */
  onStatus(listener: StatusListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Resolves once the kubelet confirmed registration (at once if it already has). Rejects with
   * NDRA_KUBELET_REGISTRATION after `timeoutMs`, naming the kubelet's last error if it refused us.
   */
  waitRegistered(timeoutMs: number): Promise<RegistrationStatusView> {
    if (this.#status.registered) return Promise.resolve(this.#status)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        const s = this.#status
        const why = s.lastError
          ? `the kubelet refused registration: ${s.lastError}`
          : s.infoRequests === 0
            ? 'the kubelet never called GetInfo (is the registration socket in the kubelet plugins_registry directory?)'
            : 'the kubelet called GetInfo but never confirmed registration'
        reject(
          new DriverError(
            'NDRA_KUBELET_REGISTRATION',
            `not registered with the kubelet after ${timeoutMs} ms: ${why}`,
          ),
        )
      }, timeoutMs)
      const off = this.onStatus(s => {
        if (!s.registered) return
        clearTimeout(timer)
        off()
        resolve(s)
      })
    })
  }

  #notify(request: unknown): ServiceError | null {
    const req = (typeof request === 'object' && request !== null ? request : {}) as {
      pluginRegistered?: unknown
      error?: unknown
    }
    const registered = req.pluginRegistered === true
    const error = typeof req.error === 'string' ? req.error : ''
    this.#status = {
      ...this.#status,
      registered,
      lastError: registered ? '' : error,
      updatedAt: this.#now(),
      notifications: this.#status.notifications + 1,
    }
    if (registered) this.#logger.info({ driver: this.#info.name }, 'registered with the kubelet')
    else this.#logger.error({ driver: this.#info.name, error }, 'the kubelet refused registration')
    for (const l of [...this.#listeners]) l(this.#status)
    if (registered) return null
    const details = `failed registration process: ${error}`
    return Object.assign(new Error(details), {
      code: grpcStatus.UNKNOWN,
      details,
      metadata: new Metadata(),
    })
  }
}
