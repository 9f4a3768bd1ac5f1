/**
 * The kubelet plugin as one object: the DRA socket (DRAPlugin v1 + v1beta1, gRPC health and, when a
 * device health source is given, DRAResourceHealth v1 + v1alpha1) and the registration socket, started and stopped in the order the Go `kubeletplugin` helper uses.
 *
 * Start-up:
 *  1. compute socket paths and create the plugin data directory;
 *  2. start the DRA server (stale socket removed first), so the endpoint answers before the kubelet
 *     learns about it;
 *  3. start the registration server in the kubelet's plugin registry; the kubelet then calls
 *     GetInfo and NotifyRegistrationStatus (see `waitRegistered()`).
 * Shutdown:
 *  1. stop the registration server and remove its socket (the kubelet deregisters us), end the
 *     device health streams;
 *  2. refuse new DRA calls, let running ones finish within the grace period, abort the rest;
 *  3. stop the DRA server and remove its socket.
 */
import { stat } from 'node:fs/promises'
import { DriverError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ClaimPreparer } from './claim-preparer.js'
import { DraService, type DraApiVersion } from './dra-service.js'
import { PluginHealth, type HealthProbeResult } from './health.js'
import { pluginSocketPaths, type PluginSocketPaths } from './plugin-sockets.js'
import { DRA_SERVICE_VERSIONS, loadKubeletProtos, type KubeletProtos } from './protos.js'
import { RegistrationServer, type RegistrationStatusView } from './registration-server.js'
import { ResourceHealthService, type DeviceHealthSource } from './resource-health-service.js'
import { UnixGrpcServer } from './unix-grpc-server.js'

export interface KubeletPluginOptions {
  readonly driverName: string
  /** Kubelet plugin registry directory (must exist; the kubelet creates it). */
  readonly registrarDir: string
  /** Kubelet plugins directory; `<pluginsDir>/<driver>` is created when missing. */
  readonly pluginsDir: string
  /** Pod UID for rolling-update socket names; leave unset for the fixed names. */
  readonly podUid?: string
  readonly preparer: ClaimPreparer
  readonly logger: Logger
  /** DRAPlugin versions to serve and advertise, most preferred first (default v1, v1beta1). */
  readonly versions?: readonly DraApiVersion[]
  /** Serve grpc.health.v1.Health on the DRA socket (default true). */
  readonly grpcHealth?: boolean
  /** Abort the preparer this long before the kubelet's deadline (default 2 s). */
  readonly deadlineMarginMs?: number
  /** Told of every DRA call: the API version the kubelet chose and the method. */
  readonly onDraCall?: (version: DraApiVersion, method: string) => void
  /** How long `stop()` lets running DRA calls finish (default 10 s). */
  readonly shutdownGraceMs?: number
  /** Health probe timeouts / Watch interval. */
  readonly healthProbeTimeoutMs?: number
  readonly healthWatchIntervalMs?: number
  /** Loaded proto definitions (default: this package's `proto/`). */
  readonly protos?: KubeletProtos
  /**
   * Serve and advertise DRAResourceHealth (v1 and v1alpha1) from this source; `timeoutSeconds` is
   * the validity the kubelet gives each report (longer than the source's reporting period).
   */
  readonly resourceHealth?: { readonly source: DeviceHealthSource; readonly timeoutSeconds: number }
}

/** Registers with the kubelet and serves its DRA calls. */
export class KubeletPlugin {
  /** Where the sockets are. */
  readonly paths: PluginSocketPaths
  /** DRAPlugin versions served, in advertised order. */
  readonly versions: readonly DraApiVersion[]
  readonly #opts: KubeletPluginOptions
  readonly #logger: Logger
  readonly #dra: DraService
  readonly #draServer: UnixGrpcServer
  readonly #registration: RegistrationServer
  readonly #health: PluginHealth | undefined
  readonly #resourceHealth: ResourceHealthService | undefined
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new'

  constructor(opts: KubeletPluginOptions) {
    this.#opts = opts
    this.paths = pluginSocketPaths(opts)
    this.versions = checkVersions(opts.versions ?? ['v1', 'v1beta1'])
    this.#logger = opts.logger.child({ driver: opts.driverName })
    const protos = opts.protos ?? loadKubeletProtos()
    this.#dra = new DraService({
      preparer: opts.preparer,
      logger: this.#logger,
      ...(opts.deadlineMarginMs === undefined ? {} : { deadlineMarginMs: opts.deadlineMarginMs }),
      ...(opts.onDraCall === undefined ? {} : { onCall: opts.onDraCall }),
    })
    this.#draServer = new UnixGrpcServer({
      socketPath: this.paths.draSocket,
      logger: this.#logger,
      createDir: true,
    })
    for (const v of this.versions) {
      this.#draServer.addService(
        v === 'v1' ? protos.draV1 : protos.draV1beta1,
        this.#dra.implementation(v),
      )
    }
    const rh = opts.resourceHealth
    this.#resourceHealth =
      rh === undefined
        ? undefined
        : new ResourceHealthService({
            source: rh.source,
            timeoutSeconds: rh.timeoutSeconds,
            logger: this.#logger.child({ component: 'device-health' }),
          })
    if (this.#resourceHealth) {
      this.#draServer.addService(protos.draHealthV1, this.#resourceHealth.implementation())
      this.#draServer.addService(protos.draHealthV1alpha1, this.#resourceHealth.implementation())
    }
    this.#registration = new RegistrationServer({
      socketPath: this.paths.registrationSocket,
      driverName: opts.driverName,
      draEndpoint: this.paths.draSocket,
      supportedVersions: [
        ...this.versions.map(v => DRA_SERVICE_VERSIONS[v]),
        ...(this.#resourceHealth
          ? [DRA_SERVICE_VERSIONS.healthV1, DRA_SERVICE_VERSIONS.healthV1alpha1]
          : []),
      ],
      protos,
      logger: this.#logger,
    })
    const first = this.versions[0] ?? 'v1'
    this.#health =
      opts.grpcHealth === false
        ? undefined
        : new PluginHealth({
            protos,
            registrationSocket: this.paths.registrationSocket,
            draSocket: this.paths.draSocket,
            draVersion: first,
            isRegistered: () => this.#registration.status().registered,
            logger: this.#logger,
            ...(opts.healthProbeTimeoutMs === undefined
              ? {}
              : { probeTimeoutMs: opts.healthProbeTimeoutMs }),
            ...(opts.healthWatchIntervalMs === undefined
              ? {}
              : { watchIntervalMs: opts.healthWatchIntervalMs }),
          })
    if (this.#health) this.#draServer.addService(protos.grpcHealth, this.#health.implementation())
  }

  /** Starts the DRA server, then the registration server. Stops what it started if a step fails. */
  async start(): Promise<void> {
    if (this.#state !== 'new') {
      throw new DriverError('NDRA_INTERNAL', 'kubelet plugin can be started only once')
    }
    this.#state = 'starting'
    try {
      await requireDirectory(this.#opts.registrarDir)
      await this.#draServer.start()
      await this.#registration.start()
      this.#state = 'running'
      this.#logger.info(
        {
          registrationSocket: this.paths.registrationSocket,
          draSocket: this.paths.draSocket,
          versions: this.versions,
        },
        'kubelet plugin serving',
      )
    } catch (err: unknown) {
      await this.stop()
      throw err
    }
  }

  /** Deregisters (registration socket removed), drains and stops the DRA socket. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    const grace = this.#opts.shutdownGraceMs ?? 10_000
    await this.#registration.stop()
    this.#resourceHealth?.close()
    this.#health?.close()
    await this.#dra.shutdown(grace)
    await this.#draServer.stop(1_000)
    this.#logger.info('kubelet plugin stopped')
  }

  /** What the kubelet last told us about our registration. */
  registrationStatus(): RegistrationStatusView {
    return this.#registration.status()
  }

  /** Resolves when the kubelet confirmed registration; NDRA_KUBELET_REGISTRATION after `timeoutMs`. */
  waitRegistered(timeoutMs: number): Promise<RegistrationStatusView> {
    return this.#registration.waitRegistered(timeoutMs)
  }

  /** Runs the same probe the gRPC health service answers from (for an HTTP health endpoint). */
  async probeHealth(): Promise<HealthProbeResult> {
    if (!this.#health) {
      return this.#registration.status().registered
        ? { status: 'SERVING', reason: '' }
        : { status: 'NOT_SERVING', reason: 'the kubelet has not confirmed registration' }
    }
    return this.#health.probe()
  }
}

function checkVersions(versions: readonly DraApiVersion[]): readonly DraApiVersion[] {
  if (versions.length === 0 || new Set(versions).size !== versions.length) {
    throw new DriverError(
      'NDRA_INVALID_CONFIG',
      `DRA API versions must be a non-empty list without repeats, got [${versions.join(', ')}]`,
    )
  }
  return Object.freeze([...versions])
}

async function requireDirectory(dir: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return
  } catch (err: unknown) {
    throw new DriverError(
      'NDRA_INVALID_CONFIG',
      `kubelet plugin registry directory ${dir} is missing; is the kubelet root directory right and mounted?`,
      { cause: err },
    )
  }
  throw new DriverError('NDRA_INVALID_CONFIG', `${dir} is not a directory`)
}
