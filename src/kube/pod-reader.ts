/**
 * Reads Pods (core/v1) for the prepare-time reference check. A 404 is "no such pod" (undefined):
 * a consumer that is gone cannot be started by the kubelet. Other failures are `NDRA_KUBE_API`, so
 * prepare fails and the kubelet retries rather than passing an unchecked claim. Needs RBAC
 * `pods: get`.
 */
import { ApiException, type CoreV1Api } from '@kubernetes/client-node'
import type { PodV1 } from '../claims/pod-claim-reference.js'
import { DriverError, errorMessage } from '../errors.js'
import { abortable } from './abortable.js'

/** Reads one pod; undefined when it does not exist. */
export interface PodReader {
  get(namespace: string, name: string, signal: AbortSignal): Promise<PodV1 | undefined>
}

export class KubePodReader implements PodReader {
  readonly #api: CoreV1Api

  constructor(api: CoreV1Api) {
    this.#api = api
  }

  async get(namespace: string, name: string, signal: AbortSignal): Promise<PodV1 | undefined> {
    try {
      return await abortable(this.#api.readNamespacedPod({ name, namespace }), signal)
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined
      if (signal.aborted) throw err
      throw new DriverError(
        'NDRA_KUBE_API',
        `reading Pod ${namespace}/${name}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      )
    }
  }
}
