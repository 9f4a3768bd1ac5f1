/**
 * What the attach side reports, and to whom: attach outcomes for the claim-status writer and the
 * Event recorder (`AttachObserver`, told after the reply is decided and never allowed to hold the
 * hook), and latencies for metrics (`AttachMetrics`). The attacher and the detacher both report
 * through these seams; the daemon wires prom-client and the status observer behind them.
 */
import type { CniResult } from '../cni/runtime.js'
import { errorMessage, type ErrorCode } from '../errors.js'
import type { Logger } from '../logger.js'
import type { PodIdentity } from '../state/state-types.js'

/** Common fields of attach events. */
export interface AttachEventBase {
  readonly claimUid: string
  readonly claimNamespace: string
  readonly claimName: string
  readonly request: string
  readonly device: string
}

/** A fresh CNI ADD succeeded and is recorded. */
export interface AttachedEvent extends AttachEventBase {
  readonly pod: PodIdentity
  readonly ifName: string
  readonly result: CniResult
  readonly interfaceName: string
  readonly ips: readonly string[]
  readonly hardwareAddress?: string
}

/** An attach failed or was refused; `pod` is absent when the pod could not be resolved. */
export interface AttachFailedEvent extends AttachEventBase {
  readonly pod?: PodIdentity
  readonly code: ErrorCode
  readonly message: string
}

/**
 * Told about attach outcomes after the reply is decided; the claim-status writer and the Event
 * recorder plug in here. Called fire-and-forget: a slow or failing observer never holds the hook.
 */
export interface AttachObserver {
  onAttached(event: AttachedEvent): void | Promise<void>
  onAttachFailed(event: AttachFailedEvent): void | Promise<void>
}

/** What happened on an attach call. */
export type AttachOutcome = 'added' | 'reused' | 'replaced' | 'failed'

/**
 * The steps of one attach call, timed for the pod-start benchmark: `lock` (waiting for another call
 * on the same request), `refresh` (the ledger re-read), `resolve` (the pod and its netns from the
 * OCI state), `cni_add` (the whole ADD: plugin runs, result cache), `record` (the state update),
 * `metadata` (the KEP-5304 file rewrite). Only steps that ran are observed.
 */
export type AttachStep = 'lock' | 'refresh' | 'resolve' | 'cni_add' | 'record' | 'metadata'

/** Metrics seam; the daemon wires prom-client (latency histogram + counter by code). */
export interface AttachMetrics {
  observeAttach(o: { outcome: AttachOutcome; code: ErrorCode | 'OK'; seconds: number }): void
  observeAttachStep(step: AttachStep, seconds: number): void
  observeDetach(o: { code: ErrorCode | 'OK'; seconds: number; attachments: number }): void
}

/**
 * Tell `observer` (if any) without waiting: a throw or a rejection is logged, a promise that never
 * settles is simply not awaited.
 */
export function notifyObserver<K extends keyof AttachObserver>(
  observer: AttachObserver | undefined,
  log: Logger,
  method: K,
  event: Parameters<AttachObserver[K]>[0],
): void {
  if (!observer) return
  const fail = (err: unknown): void => {
    log.error(
      { claimUID: event.claimUid, err: errorMessage(err) },
      `attach observer ${method} failed`,
    )
  }
  try {
    const call = observer[method] as (e: typeof event) => void | Promise<void>
    const p = call.call(observer, event)
    if (p instanceof Promise) p.catch(fail)
  } catch (err: unknown) {
    fail(err)
  }
}
