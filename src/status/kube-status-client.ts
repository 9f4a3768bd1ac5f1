/**
 * The real {@link ClaimStatusClient} and {@link EventClient} through `@kubernetes/client-node`:
 * server-side apply on `resourceclaims/status` (content type `application/apply-patch+yaml`;
 * JSON is valid YAML) and core/v1 Event creation.
 */
import {
  CoreV1Api,
  PatchStrategy,
  ResourceV1Api,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
} from '@kubernetes/client-node'
import { DriverError, errorMessage } from '../errors.js'
import { makeApiClient } from '../kube/api-clients.js'
import type { ClaimStatusClient } from './claim-status.js'
import type { EventClient } from './pod-events.js'

/** Build both clients from a loaded KubeConfig. */
export function kubeStatusClient(kc: KubeConfig): ClaimStatusClient & EventClient {
  const resource = makeApiClient(kc, ResourceV1Api)
  const core = makeApiClient(kc, CoreV1Api)
  return {
    async applyStatus(namespace, name, body, fieldManager) {
      try {
        await resource.patchNamespacedResourceClaimStatus(
          { name, namespace, body, fieldManager, force: true },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        )
      } catch (err: unknown) {
        throw new DriverError(
          'NDRA_KUBE_API',
          `apply status of ${namespace}/${name}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        )
      }
    },
    async readStatusDevices(namespace, name) {
      try {
        const c = await resource.readNamespacedResourceClaimStatus({ name, namespace })
        return {
          resourceVersion: c.metadata?.resourceVersion ?? '',
          // AllocatedDeviceStatus models use the wire field names; Dates stringify to RFC 3339.
          devices: (c.status?.devices ?? []).map(
            d => JSON.parse(JSON.stringify(d)) as Record<string, unknown>,
          ),
        }
      } catch (err: unknown) {
        throw new DriverError(
          'NDRA_KUBE_API',
          `read status of ${namespace}/${name}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        )
      }
    },
    async jsonPatchStatus(namespace, name, ops, fieldManager) {
      try {
        await resource.patchNamespacedResourceClaimStatus(
          { name, namespace, body: ops, fieldManager },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        )
      } catch (err: unknown) {
        throw new DriverError(
          'NDRA_KUBE_API',
          `patch status of ${namespace}/${name}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        )
      }
    },
    async createEvent(namespace, event) {
      try {
        await core.createNamespacedEvent({ namespace, body: event as unknown as CoreV1Event })
      } catch (err: unknown) {
        throw new DriverError(
          'NDRA_KUBE_API',
          `create event in ${namespace}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        )
      }
    },
  }
}
