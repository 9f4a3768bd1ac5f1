/**
 * Kubernetes Events on a Pod for failed attachments, so `kubectl describe pod` shows why its
 * network is missing (the hook's one-line error also reaches the container runtime, but events
 * are where users look). core/v1 Events, the form `kubectl describe` and the kubelet use.
 */
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Clock } from '../slices/clock.js'
import { kubeTime } from './claim-status.js'

/** Event reason for a failed CNI attachment. */
export const REASON_ATTACH_FAILED = 'NetworkAttachFailed'
/** Event reason for a claim the pod lists but no container uses (refused at prepare). */
export const REASON_CLAIM_UNREFERENCED = 'NetworkClaimUnreferenced'
/** Longest message kept (the kubelet's event recorder uses the same bound). */
export const MAX_EVENT_MESSAGE = 1024

/** The pod an event is about. */
export interface PodRef {
  readonly namespace: string
  readonly name: string
  readonly uid: string
}

/** core/v1 Event, the fields this driver sets. */
export interface CoreEvent {
  readonly apiVersion: 'v1'
  readonly kind: 'Event'
  readonly metadata: { readonly generateName: string; readonly namespace: string }
  readonly involvedObject: {
    readonly apiVersion: 'v1'
    readonly kind: 'Pod'
    readonly name: string
    readonly namespace: string
    readonly uid: string
  }
  readonly reason: string
  readonly message: string
  readonly type: 'Warning' | 'Normal'
  readonly source: { readonly component: string; readonly host: string }
  readonly firstTimestamp: string
  readonly lastTimestamp: string
  readonly count: number
  readonly reportingComponent: string
  readonly reportingInstance: string
}

/** Creates events. */
export interface EventClient {
  createEvent(namespace: string, event: CoreEvent): Promise<void>
}

/** Options of {@link PodEventRecorder}. */
export interface PodEventRecorderOptions {
  readonly client: EventClient
  readonly driverName: string
  readonly nodeName: string
  readonly clock: Clock
  readonly logger: Logger
}

/** Records pod events; never throws (an event is best effort, the failure is logged). */
export class PodEventRecorder {
  readonly #o: PodEventRecorderOptions

  constructor(opts: PodEventRecorderOptions) {
    this.#o = opts
  }

  /** The event for a failed attach; `message` is the CNI error as the user should read it. */
  buildAttachFailed(
    pod: PodRef,
    what: { claim: string; request: string; device: string; message: string },
  ): CoreEvent {
    return this.buildWarning(
      pod,
      REASON_ATTACH_FAILED,
      `claim ${what.claim} request ${what.request} (${what.device}): ${what.message}`,
    )
  }

  /** A Warning event on the pod with `reason`; the message is cut to {@link MAX_EVENT_MESSAGE}. */
  buildWarning(pod: PodRef, reason: string, text: string): CoreEvent {
    const now = kubeTime(this.#o.clock.now())
    let message = text
    if (message.length > MAX_EVENT_MESSAGE)
      message = `${message.slice(0, MAX_EVENT_MESSAGE - 3)}...`
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        name: pod.name,
        namespace: pod.namespace,
        uid: pod.uid,
      },
      reason,
      message,
      type: 'Warning',
      source: { component: this.#o.driverName, host: this.#o.nodeName },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.#o.driverName,
      reportingInstance: this.#o.nodeName,
    }
  }

  /** Post a `NetworkAttachFailed` Warning on the pod. */
  async attachFailed(
    pod: PodRef,
    what: { claim: string; request: string; device: string; message: string },
  ): Promise<void> {
    await this.#create(pod, this.buildAttachFailed(pod, what))
  }

  /** Post a `NetworkClaimUnreferenced` Warning: prepare refused a claim no container uses. */
  async claimUnreferenced(pod: PodRef, message: string): Promise<void> {
    await this.#create(pod, this.buildWarning(pod, REASON_CLAIM_UNREFERENCED, message))
  }

  async #create(pod: PodRef, event: CoreEvent): Promise<void> {
    try {
      await this.#o.client.createEvent(pod.namespace, event)
    } catch (err: unknown) {
      this.#o.logger.warn(
        { podUID: pod.uid, namespace: pod.namespace, name: pod.name, err: errorMessage(err) },
        'could not record pod event',
      )
    }
  }
}
