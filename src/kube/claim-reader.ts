/**
 * Reads ResourceClaims (`resource.k8s.io/v1`) for prepare. A 404 becomes `NDRA_CLAIM_NOT_FOUND`
 * with a message the user can act on; other API failures `NDRA_KUBE_API`.
 */
import { ApiException, type ResourceV1Api } from '@kubernetes/client-node'
import type { ResourceClaimV1 } from '../claims/resource-claim.js'
import type { ClaimReader } from '../driver/prepare-service.js'
import { DriverError, errorMessage } from '../errors.js'
import { abortable } from './abortable.js'

export class KubeClaimReader implements ClaimReader {
  readonly #api: ResourceV1Api

  constructor(api: ResourceV1Api) {
    this.#api = api
  }

  async get(namespace: string, name: string, signal: AbortSignal): Promise<ResourceClaimV1> {
    try {
      const claim = await abortable(
        this.#api.readNamespacedResourceClaim({ name, namespace }),
        signal,
      )
      return claim
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) {
        throw new DriverError(
          'NDRA_CLAIM_NOT_FOUND',
          `ResourceClaim ${namespace}/${name} not found`,
          {
            cause: err,
          },
        )
      }
      if (signal.aborted) throw err
      throw new DriverError(
        'NDRA_KUBE_API',
        `reading ResourceClaim ${namespace}/${name}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      )
    }
  }
}
