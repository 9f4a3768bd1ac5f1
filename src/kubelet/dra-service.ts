/**
 * The DRA node service (`DRAPlugin`) the kubelet calls: one implementation served as both
 * `k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin` and `...v1beta1.DRAPlugin`. It owns the wire rules and
 * leaves claim work to an injected `ClaimPreparer`:
 *  - every claim of the request gets an entry in the response (the kubelet rejects a reply that
 *    skips one), a bad claim or a missing result becomes that claim's `error`;
 *  - whole-call faults become a gRPC status through `toServiceError`;
 *  - the preparer's signal aborts a little before the kubelet's 45 s deadline, on cancellation, and
 *    on shutdown; while shutting down new calls get UNAVAILABLE;
 *  - `share_id` is sent on v1 only (v1beta1 has no such field).
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js'
import { DriverError, errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ClaimPreparer, ClaimRef, PrepareResult, PreparedDevice } from './claim-preparer.js'
import { toServiceError } from './grpc-status.js'

/** The kubelet's client timeout per DRA call (`defaultClientCallTimeout`). */
export const KUBELET_CALL_TIMEOUT_MS = 45_000

/** Which DRAPlugin service a call came in on; decides whether `shareId` is sent. */
export type DraApiVersion = 'v1' | 'v1beta1'

/** Wire shape of a `Device` (proto-loader camelCase). */
export interface DeviceWire {
  requestNames: string[]
  poolName: string
  deviceName: string
  cdiDeviceIds: string[]
  shareId?: string
}

/** Wire shape of `NodePrepareResourcesResponse`. */
export interface PrepareResponseWire {
  claims: Record<string, { devices: DeviceWire[]; error: string }>
}

/** Wire shape of `NodeUnprepareResourcesResponse`. */
export interface UnprepareResponseWire {
  claims: Record<string, { error: string }>
}

/** Per-call context the gRPC layer hands to the request handlers. */
export interface CallContext {
  readonly version: DraApiVersion
  /** Absolute deadline in epoch ms; `Infinity` or absent means the kubelet default applies. */
  readonly deadline?: number
  /** Aborted when the client cancels the call. */
  readonly cancelled?: AbortSignal
}

export interface DraServiceOptions {
  readonly preparer: ClaimPreparer
  readonly logger: Logger
  /** Budget when a call carries no deadline (default 45 s, the kubelet's own timeout). */
  readonly defaultTimeoutMs?: number
  /** How long before the call deadline the preparer's signal fires (default 2 s). */
  readonly deadlineMarginMs?: number
  /** Clock seam (epoch ms). */
  readonly now?: () => number
  /** Told of every call, with the API version the kubelet chose and the method name. */
  readonly onCall?: (version: DraApiVersion, method: string) => void
}

interface ParsedClaims {
  /** Valid claims, one per UID, in request order. */
  readonly valid: ClaimRef[]
  /** Per-UID validation errors of the claims that cannot be handed to the preparer. */
  readonly invalid: Map<string, string>
}

/**
 * Serves NodePrepareResources / NodeUnprepareResources for both API versions. Create one per
 * plugin, add `implementation('v1')` and `implementation('v1beta1')` to the DRA socket's server,
 * and call `shutdown()` before closing that server.
 */
export class DraService {
  readonly #preparer: ClaimPreparer
  readonly #logger: Logger
  readonly #defaultTimeoutMs: number
  readonly #marginMs: number
  readonly #now: () => number
  readonly #onCall: (version: DraApiVersion, method: string) => void
  readonly #shutdown = new AbortController()
  readonly #inFlight = new Set<Promise<unknown>>()
  #shuttingDown = false

  constructor(opts: DraServiceOptions) {
    this.#preparer = opts.preparer
    this.#logger = opts.logger
    this.#defaultTimeoutMs = opts.defaultTimeoutMs ?? KUBELET_CALL_TIMEOUT_MS
    this.#marginMs = opts.deadlineMarginMs ?? 2_000
    this.#now = opts.now ?? Date.now
    this.#onCall = opts.onCall ?? (() => undefined)
  }

  /** grpc-js handlers for the DRAPlugin service of the given version. */
  implementation(version: DraApiVersion): UntypedServiceImplementation {
    return {
      NodePrepareResources: (
        call: ServerUnaryCall<unknown, unknown>,
        callback: sendUnaryData<unknown>,
      ) => {
        this.#serve(call, callback, ctx => this.nodePrepareResources(call.request, ctx), version)
      },
      NodeUnprepareResources: (
        call: ServerUnaryCall<unknown, unknown>,
        callback: sendUnaryData<unknown>,
      ) => {
        this.#serve(call, callback, ctx => this.nodeUnprepareResources(call.request, ctx), version)
      },
    }
  }

  /** Number of calls being handled right now. */
  get inFlight(): number {
    return this.#inFlight.size
  }

  /** True once `shutdown()` was called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown
  }

  /**
   * Refuses new calls (UNAVAILABLE), lets running calls finish for up to `graceMs`, then aborts
   * their signals and waits for them to answer.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#shuttingDown = true
    const settled = Promise.allSettled([...this.#inFlight])
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<'timeout'>(res => {
      timer = setTimeout(() => {
        res('timeout')
      }, graceMs)
    })
    const first = await Promise.race([settled.then(() => 'done' as const), grace])
    clearTimeout(timer)
    if (first === 'timeout') {
      this.#logger.warn(
        { inFlight: this.#inFlight.size },
        'aborting DRA calls still running at shutdown',
      )
      this.#shutdown.abort(new DriverError('NDRA_SHUTTING_DOWN', 'plugin is shutting down'))
      await settled
    }
  }

  /** NodePrepareResources on already-decoded input; the gRPC handler and unit tests call this. */
  async nodePrepareResources(request: unknown, ctx: CallContext): Promise<PrepareResponseWire> {
    this.#refuseIfShuttingDown()
    const { valid, invalid } = parseClaims(request)
    const response: PrepareResponseWire = { claims: {} }
    for (const [uid, error] of invalid) response.claims[uid] = { devices: [], error }
    if (valid.length === 0) return response
    const results = await this.#withSignal(ctx, signal => this.#preparer.prepare(valid, signal))
    for (const claim of valid) {
      response.claims[claim.uid] = toPrepareEntry(claim, results.get(claim.uid), ctx.version)
    }
    this.#logUnknown('prepare', valid, results.keys())
    return response
  }

  /** NodeUnprepareResources on already-decoded input; the gRPC handler and unit tests call this. */
  async nodeUnprepareResources(request: unknown, ctx: CallContext): Promise<UnprepareResponseWire> {
    this.#refuseIfShuttingDown()
    const { valid, invalid } = parseClaims(request)
    const response: UnprepareResponseWire = { claims: {} }
    for (const [uid, error] of invalid) response.claims[uid] = { error }
    if (valid.length === 0) return response
    const results = await this.#withSignal(ctx, signal => this.#preparer.unprepare(valid, signal))
    for (const claim of valid) {
      const result = results.get(claim.uid)
      response.claims[claim.uid] = {
        error: result ? (result.error ?? '') : missingResult(claim),
      }
    }
    this.#logUnknown('unprepare', valid, results.keys())
    return response
  }

  #serve(
    call: ServerUnaryCall<unknown, unknown>,
    callback: sendUnaryData<unknown>,
    run: (ctx: CallContext) => Promise<unknown>,
    version: DraApiVersion,
  ): void {
    const method = call.getPath()
    const started = this.#now()
    this.#onCall(version, method.slice(method.lastIndexOf('/') + 1))
    const cancelled = new AbortController()
    call.on('cancelled', () => {
      cancelled.abort(new DOMException('the kubelet cancelled the call', 'AbortError'))
    })
    const deadline = call.getDeadline()
    const ctx: CallContext = {
      version,
      deadline: deadline instanceof Date ? deadline.getTime() : deadline,
      cancelled: cancelled.signal,
    }
    const task = (async () => {
      try {
        const reply = await run(ctx)
        this.#logger.debug({ method, durationMs: this.#now() - started }, 'DRA call answered')
        callback(null, reply)
      } catch (err: unknown) {
        const fields = { method, durationMs: this.#now() - started, err: errorMessage(err) }
        if (this.#shuttingDown) this.#logger.info(fields, 'DRA call refused or aborted at shutdown')
        else this.#logger.warn(fields, 'DRA call failed')
        callback(toServiceError(err))
      }
    })()
    this.#track(task)
  }

  #track(task: Promise<unknown>): void {
    this.#inFlight.add(task)
    // Both branches handled: `finally` would re-raise a rejection as an unhandled one.
    const done = (): void => {
      this.#inFlight.delete(task)
    }
    task.then(done, done)
  }

  #refuseIfShuttingDown(): void {
    if (this.#shuttingDown) {
      throw new DriverError('NDRA_SHUTTING_DOWN', 'plugin is shutting down; retry on its successor')
    }
  }

  /** Runs `fn` with a signal that fires `margin` before the deadline, on cancel and on shutdown. */
  async #withSignal<T>(ctx: CallContext, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const now = this.#now()
    const deadline = Math.min(
      ctx.deadline !== undefined && Number.isFinite(ctx.deadline) ? ctx.deadline : Infinity,
      now + this.#defaultTimeoutMs,
    )
    const budget = Math.max(0, deadline - now - this.#marginMs)
    const timeout = new AbortController()
    const timer = setTimeout(() => {
      timeout.abort(
        new DOMException(
          `DRA call budget of ${budget} ms (kubelet deadline) used up`,
          'TimeoutError',
        ),
      )
    }, budget)
    const signals = [timeout.signal, this.#shutdown.signal]
    if (ctx.cancelled) signals.push(ctx.cancelled)
    const signal = AbortSignal.any(signals)
    const task = fn(signal)
    this.#track(task)
    try {
      return await task
    } finally {
      clearTimeout(timer)
    }
  }

  #logUnknown(op: string, valid: readonly ClaimRef[], keys: Iterable<string>): void {
    const asked = new Set(valid.map(c => c.uid))
    const extra = [...keys].filter(k => !asked.has(k))
    if (extra.length > 0) {
      this.#logger.warn(
        { op, uids: extra },
        'preparer returned results for claims not asked about; dropped',
      )
    }
  }
}

/** Splits the request into claims the preparer may see and per-claim validation errors. */
function parseClaims(request: unknown): ParsedClaims {
  const valid: ClaimRef[] = []
  const invalid = new Map<string, string>()
  const seen = new Set<string>()
  const claims = isRecord(request) && Array.isArray(request.claims) ? request.claims : []
  for (const raw of claims as unknown[]) {
    const claim = {
      namespace: stringField(raw, 'namespace'),
      uid: stringField(raw, 'uid'),
      name: stringField(raw, 'name'),
    }
    const missing = (['namespace', 'uid', 'name'] as const).filter(k => claim[k] === '')
    if (missing.length > 0) {
      invalid.set(
        claim.uid,
        `invalid claim ${claim.namespace}/${claim.name} (uid "${claim.uid}"): ${missing.join(', ')} required`,
      )
      continue
    }
    if (seen.has(claim.uid)) continue
    seen.add(claim.uid)
    valid.push(claim)
  }
  // A UID that was valid once wins over a malformed duplicate.
  for (const uid of seen) invalid.delete(uid)
  return { valid, invalid }
}

function toPrepareEntry(
  claim: ClaimRef,
  result: PrepareResult | undefined,
  version: DraApiVersion,
): { devices: DeviceWire[]; error: string } {
  if (!result) return { devices: [], error: missingResult(claim) }
  if ('error' in result) {
    return {
      devices: [],
      error: result.error || `preparing claim ${claim.namespace}/${claim.name} failed`,
    }
  }
  const bad = result.devices.find(d => d.poolName === '' || d.deviceName === '')
  if (bad) {
    return {
      devices: [],
      error: `internal error: driver returned a device without pool or device name for claim ${claim.namespace}/${claim.name}`,
    }
  }
  return { devices: result.devices.map(d => toDeviceWire(d, version)), error: '' }
}

function toDeviceWire(d: PreparedDevice, version: DraApiVersion): DeviceWire {
  const wire: DeviceWire = {
    requestNames: [...d.requestNames],
    poolName: d.poolName,
    deviceName: d.deviceName,
    cdiDeviceIds: [...d.cdiDeviceIds],
  }
  if (version === 'v1' && d.shareId !== undefined) wire.shareId = d.shareId
  return wire
}

function missingResult(claim: ClaimRef): string {
  return `internal error: driver returned no result for claim ${claim.namespace}/${claim.name} (${claim.uid})`
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

function stringField(v: unknown, key: string): string {
  if (!isRecord(v)) return ''
  const field = v[key]
  return typeof field === 'string' ? field : ''
}
