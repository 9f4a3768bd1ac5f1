/**
 * `grpc.health.v1.Health` on the DRA socket, answering from a real probe of the kubelet path (as
 * dra-example-driver's health.go does): GetInfo on our own registration socket, an empty
 * NodePrepareResources on our own DRA socket, and the kubelet's registration confirmation. SERVING
 * only when all three hold, so a liveness/readiness probe fails when the kubelet cannot reach us.
 */
import type {
  Client,
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js'
import { status as grpcStatus } from '@grpc/grpc-js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { DraApiVersion } from './dra-service.js'
import type { KubeletProtos } from './protos.js'
import { SERVICE_NAMES } from './protos.js'
import { callUnary, methodOf, unixClient } from './unary-call.js'

/** `HealthCheckResponse.ServingStatus` names (proto-loader `enums: String`). */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'

/** Outcome of one probe; `reason` says what failed. */
export interface HealthProbeResult {
  readonly status: 'SERVING' | 'NOT_SERVING'
  readonly reason: string
}

export interface PluginHealthOptions {
  readonly protos: KubeletProtos
  readonly registrationSocket: string
  readonly draSocket: string
  /** DRAPlugin version to probe (the first one we serve). */
  readonly draVersion: DraApiVersion
  /** Whether the kubelet has confirmed our registration. */
  readonly isRegistered: () => boolean
  readonly logger: Logger
  /** Deadline of each probe call (default 5 s). */
  readonly probeTimeoutMs?: number
  /** How often a Watch stream re-probes (default 5 s). */
  readonly watchIntervalMs?: number
}

/**
 * Health service whose answers come from probing our own sockets. Service names accepted by Check:
 * "" (the whole plugin) and the DRAPlugin service names; others get NOT_FOUND as the protocol says.
 */
export class PluginHealth {
  readonly #opts: PluginHealthOptions
  readonly #probeTimeoutMs: number
  readonly #watchIntervalMs: number
  readonly #watchers = new Set<ServerWritableStream<unknown, unknown>>()
  #regClient: Client | undefined
  #draClient: Client | undefined
  #closed = false

  constructor(opts: PluginHealthOptions) {
    this.#opts = opts
    this.#probeTimeoutMs = opts.probeTimeoutMs ?? 5_000
    this.#watchIntervalMs = opts.watchIntervalMs ?? 5_000
  }

  /** Probes the registration socket, the DRA socket and the kubelet's confirmation. */
  async probe(): Promise<HealthProbeResult> {
    if (this.#closed) return { status: 'NOT_SERVING', reason: 'plugin is stopping' }
    const { protos } = this.#opts
    try {
      this.#regClient ??= unixClient(this.#opts.registrationSocket)
      await callUnary(
        this.#regClient,
        methodOf(protos.registration, 'GetInfo'),
        {},
        this.#probeTimeoutMs,
      )
    } catch (err: unknown) {
      return { status: 'NOT_SERVING', reason: `registration socket GetInfo: ${errorMessage(err)}` }
    }
    try {
      this.#draClient ??= unixClient(this.#opts.draSocket)
      const dra = this.#opts.draVersion === 'v1' ? protos.draV1 : protos.draV1beta1
      await callUnary(
        this.#draClient,
        methodOf(dra, 'NodePrepareResources'),
        { claims: [] },
        this.#probeTimeoutMs,
      )
    } catch (err: unknown) {
      return {
        status: 'NOT_SERVING',
        reason: `DRA socket NodePrepareResources: ${errorMessage(err)}`,
      }
    }
    if (!this.#opts.isRegistered()) {
      return { status: 'NOT_SERVING', reason: 'the kubelet has not confirmed registration' }
    }
    return { status: 'SERVING', reason: '' }
  }

  /** grpc-js handlers for grpc.health.v1.Health (Check and Watch). */
  implementation(): UntypedServiceImplementation {
    return {
      Check: (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
        if (!this.#knownService(call.request)) {
          cb({ code: grpcStatus.NOT_FOUND, details: 'unknown service' })
          return
        }
        void this.probe().then(r => {
          if (r.status !== 'SERVING')
            this.#opts.logger.debug({ reason: r.reason }, 'health: not serving')
          cb(null, { status: r.status })
        })
      },
      Watch: (call: ServerWritableStream<unknown, unknown>) => {
        this.#watch(call)
      },
    }
  }

  /** Ends Watch streams and closes the probe clients; later probes report NOT_SERVING. */
  close(): void {
    this.#closed = true
    for (const w of this.#watchers) w.end()
    this.#watchers.clear()
    this.#regClient?.close()
    this.#draClient?.close()
  }

  #watch(call: ServerWritableStream<unknown, unknown>): void {
    if (!this.#knownService(call.request)) {
      call.write({ status: 'SERVICE_UNKNOWN' satisfies ServingStatus })
      call.end()
      return
    }
    this.#watchers.add(call)
    let last: string | undefined
    let timer: NodeJS.Timeout | undefined
    const stop = (): void => {
      clearTimeout(timer)
      this.#watchers.delete(call)
    }
    call.on('cancelled', stop)
    call.on('close', stop)
    const tick = async (): Promise<void> => {
      const r = await this.probe()
      if (!this.#watchers.has(call)) return
      if (r.status !== last) {
        last = r.status
        call.write({ status: r.status })
      }
      timer = setTimeout(() => void tick(), this.#watchIntervalMs)
    }
    void tick()
  }

  #knownService(request: unknown): boolean {
    const service =
      typeof request === 'object' && request !== null && 'service' in request ? request.service : ''
    return service === '' || service === SERVICE_NAMES.draV1 || service === SERVICE_NAMES.draV1beta1
  }
}
