/**
 * Reads Pods (core/v1) for the prepare-time reference check. A 404 is "no such pod" (undefined):
 * a consumer that is gone cannot be started by the kubelet. Other failures are `NDRA_KUBE_API`, so
 * prepare fails and the kubelet retries rather than passing an unchecked claim.
 *
 * When the caller knows the pod's UID (a claim's `status.reservedFor` names it), the pod is first
 * asked of the API server's watch cache (a LIST of that one name at `resourceVersion=0`: no etcd
 * read, the cheapest request an API server serves). The check only reads the containers' claim
 * references, which never change after creation, so a cached copy with the right UID is as good as
 * a fresh one. Anything else — not in the cache yet, another UID (a re-created pod), the list
 * refused — falls back to the quorum GET, whose answer decides. Needs RBAC `pods: get, list`.
 */
import { ApiException, type CoreV1Api } from '@kubernetes/client-node'
import type { PodV1 } from '../claims/pod-claim-reference.js'
import { DriverError, errorMessage } from '../errors.js'
import { abortable } from './abortable.js'

/** Reads one pod; undefined when it does not exist. */
export interface PodReader {
  /**
   * The pod `namespace/name`. With `uid`, a cached copy of the pod with that UID may answer; the
   * caller still compares the UID of what it gets (a quorum read may return another pod).
   */
  get(
    namespace: string,
    name: string,
    signal: AbortSignal,
    uid?: string,
  ): Promise<PodV1 | undefined>
}

/** Where an answer came from, for metrics and tests. */
export type PodReadSource = 'cache' | 'quorum'

export class KubePodReader implements PodReader {
  readonly #api: CoreV1Api
  readonly #onRead: ((source: PodReadSource) => void) | undefined

  constructor(api: CoreV1Api, onRead?: (source: PodReadSource) => void) {
    this.#api = api
    this.#onRead = onRead
  }

  async get(
    namespace: string,
    name: string,
    signal: AbortSignal,
    uid?: string,
  ): Promise<PodV1 | undefined> {
    if (uid !== undefined && uid !== '') {
      const cached = await this.#fromWatchCache(namespace, name, signal)
      if (cached?.metadata?.uid === uid) {
        this.#onRead?.('cache')
        return cached
      }
    }
    this.#onRead?.('quorum')
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

  /** The pod as the API server's watch cache holds it; undefined when absent or not readable. */
  async #fromWatchCache(
    namespace: string,
    name: string,
    signal: AbortSignal,
  ): Promise<PodV1 | undefined> {
    try {
      const list = await abortable(
        this.#api.listNamespacedPod({
          namespace,
          fieldSelector: `metadata.name=${name}`,
          resourceVersion: '0',
        }),
        signal,
      )
      return list.items.find(p => p.metadata?.name === name)
    } catch (err) {
      if (signal.aborted) throw err
      return undefined
    }
  }
}
