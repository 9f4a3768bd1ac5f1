/**
 * Reports attach outcomes to Kubernetes (ARCHITECTURE step 6): after every attach, the claim's
 * `status.devices` is server-side applied from the recorded attachments (one entry per allocated
 * device: Ready True with the CNI result and networkData, Ready False with the failure, or Pending
 * while no container has asked yet), and a failed attach also posts a Warning Event on the pod.
 * Runs behind the hook's reply; failures are logged and retried by the writer, never thrown.
 */
import type { AttachFailedEvent, AttachObserver, AttachedEvent } from '../attach/attacher.js'
import { networkDataFromResult } from '../cni/result.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ClaimRecord } from '../state/state-types.js'
import type { ClaimStatusWriter, DeviceStatus } from '../status/claim-status.js'
import type { PodEventRecorder } from '../status/pod-events.js'

export interface StatusObserverOptions {
  readonly claims: { claim(uid: string): ClaimRecord | undefined }
  readonly writer: Pick<ClaimStatusWriter, 'write'>
  readonly events: Pick<PodEventRecorder, 'attachFailed'>
  readonly logger: Logger
}

/** Desired status of every device of a claim, from its record. */
export function deviceStatuses(record: ClaimRecord): DeviceStatus[] {
  return record.plans.map(plan => {
    const recs = record.attachments.filter(
      a => a.request === plan.request && a.device === plan.device,
    )
    const latest = recs.reduce<(typeof recs)[number] | undefined>(
      (acc, a) => (acc === undefined || a.updatedAt >= acc.updatedAt ? a : acc),
      undefined,
    )
    if (latest === undefined) {
      return {
        pool: plan.pool,
        device: plan.device,
        ready: false,
        reason: 'Pending',
        message: 'prepared; waiting for a container that references the claim',
      }
    }
    if (latest.phase === 'failed' || latest.result === undefined) {
      return {
        pool: plan.pool,
        device: plan.device,
        ready: false,
        reason: 'NetworkAttachFailed',
        message: latest.error ?? 'attach failed',
      }
    }
    const nd = networkDataFromResult(latest.result, latest.ifName)
    return {
      pool: plan.pool,
      device: plan.device,
      ready: true,
      reason: 'NetworkReady',
      message: `${latest.ifName} attached to pod ${latest.podNamespace}/${latest.podName}`,
      result: latest.result,
      networkData: nd,
    }
  })
}

export class StatusObserver implements AttachObserver {
  readonly #o: StatusObserverOptions

  constructor(opts: StatusObserverOptions) {
    this.#o = opts
  }

  async onAttached(event: AttachedEvent): Promise<void> {
    await this.#writeStatus(event.claimUid)
  }

  async onAttachFailed(event: AttachFailedEvent): Promise<void> {
    const pod = event.pod
    const tasks: Promise<void>[] = [this.#writeStatus(event.claimUid)]
    if (pod && pod.podNamespace !== '' && pod.podName !== '') {
      tasks.push(
        this.#o.events.attachFailed(
          { namespace: pod.podNamespace, name: pod.podName, uid: pod.podUid },
          {
            claim: `${event.claimNamespace}/${event.claimName}`,
            request: event.request,
            device: event.device,
            message: event.message,
          },
        ),
      )
    }
    await Promise.all(tasks)
  }

  async #writeStatus(claimUid: string): Promise<void> {
    const record = this.#o.claims.claim(claimUid)
    if (!record) return
    try {
      await this.#o.writer.write(
        { namespace: record.namespace, name: record.name, uid: record.uid },
        deviceStatuses(record),
      )
    } catch (err) {
      this.#o.logger.warn(
        {
          claimUID: claimUid,
          namespace: record.namespace,
          name: record.name,
          err: errorMessage(err),
        },
        'could not write claim status',
      )
    }
  }
}
