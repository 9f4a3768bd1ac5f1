/**
 * The DRA device health service the kubelet streams from (KEP-4680): `DRAResourceHealth` with its
 * one server-streaming method `NodeWatchResources`, served identically as `v1.DRAResourceHealth`
 * (kubelet 1.37 prefers it) and `v1alpha1.DRAResourceHealth` (1.36 dials only this one; the
 * messages are the same, field numbers included). Each stream gets the full device list at once
 * and then every time the source reports it; the kubelet compares and updates the pods using a
 * changed device. `health_check_timeout_seconds` tells the kubelet how long a report stays valid,
 * so the source must report more often than that.
 */
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js'
import { errorMessage } from '../errors.js'
import type { DeviceHealth } from '../health/device-health.js'
import type { Logger } from '../logger.js'

/** Where the device health comes from (a `DeviceHealthMonitor`). */
export interface DeviceHealthSource {
  current(): readonly DeviceHealth[]
  subscribe(listener: (devices: readonly DeviceHealth[]) => void): () => void
}

/** Wire shape of `DeviceHealth` (proto-loader camelCase, enums by name, int64 as number). */
export interface DeviceHealthWire {
  device: { poolName: string; deviceName: string }
  health: DeviceHealth['health']
  lastUpdatedTime: number
  healthCheckTimeoutSeconds: number
  message: string
}

/** Options of {@link ResourceHealthService}. */
export interface ResourceHealthServiceOptions {
  readonly source: DeviceHealthSource
  readonly logger: Logger
  /** Sent as `health_check_timeout_seconds`; must exceed the source's reporting period. */
  readonly timeoutSeconds: number
  /** Clock seam (epoch ms). */
  readonly now?: () => number
}

/** The wire response for a list. */
export function toWatchResponse(
  devices: readonly DeviceHealth[],
  nowMs: number,
  timeoutSeconds: number,
): { devices: DeviceHealthWire[] } {
  const seconds = Math.floor(nowMs / 1000)
  return {
    devices: devices.map(d => ({
      device: { poolName: d.pool, deviceName: d.device },
      health: d.health,
      lastUpdatedTime: seconds,
      healthCheckTimeoutSeconds: timeoutSeconds,
      message: d.message,
    })),
  }
}

/** See the module header. Add `implementation()` for both versions; `close()` at shutdown. */
export class ResourceHealthService {
  readonly #o: ResourceHealthServiceOptions
  readonly #streams = new Map<ServerWritableStream<unknown, unknown>, () => void>()

  constructor(opts: ResourceHealthServiceOptions) {
    this.#o = opts
  }

  /** Number of open streams. */
  get streams(): number {
    return this.#streams.size
  }

  /** grpc-js handlers of `DRAResourceHealth` (same for v1 and v1alpha1). */
  implementation(): UntypedServiceImplementation {
    return {
      NodeWatchResources: (call: ServerWritableStream<unknown, unknown>) => {
        this.#watch(call)
      },
    }
  }

  /** Ends every stream (the kubelet re-dials the successor). */
  close(): void {
    for (const [call, stop] of [...this.#streams]) {
      stop()
      call.end()
    }
  }

  #watch(call: ServerWritableStream<unknown, unknown>): void {
    const send = (devices: readonly DeviceHealth[]): void => {
      try {
        call.write(toWatchResponse(devices, (this.#o.now ?? Date.now)(), this.#o.timeoutSeconds))
      } catch (err: unknown) {
        this.#o.logger.warn({ err: errorMessage(err) }, 'device health stream write failed')
        stop()
      }
    }
    const unsubscribe = this.#o.source.subscribe(send)
    const stop = (): void => {
      unsubscribe()
      this.#streams.delete(call)
    }
    this.#streams.set(call, stop)
    call.on('cancelled', stop)
    call.on('close', stop)
    call.on('error', stop)
    this.#o.logger.info({ path: call.getPath() }, 'kubelet opened the device health stream')
    send(this.#o.source.current())
  }
}
