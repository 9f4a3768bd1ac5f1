/**
 * The small slice of the Kubernetes API the publisher needs, as an injected interface: the real
 * one talks to the apiserver (kube-slice-client.ts), unit tests use a hand-written fake.
 * Objects are plain `resource.k8s.io/v1` wire JSON.
 */
import type { SliceDevice } from './device-builder.js'

/** ResourceSlice (resource.k8s.io/v1), the fields this driver writes and reads. */
export interface ResourceSliceObject {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata: {
    readonly name?: string
    readonly generateName?: string
    readonly uid?: string
    readonly resourceVersion?: string
    readonly ownerReferences?: readonly OwnerReference[]
  }
  readonly spec: {
    readonly driver: string
    readonly pool: {
      readonly name: string
      readonly generation: number
      readonly resourceSliceCount: number
    }
    readonly nodeName?: string
    readonly devices?: readonly SliceDevice[]
  }
}

/** metadata.ownerReferences[] entry. */
export interface OwnerReference {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly uid: string
  readonly controller?: boolean
}

/** Watch event types the apiserver sends. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

/** A running watch. */
export interface WatchHandle {
  stop(): void
}

/** Operations on ResourceSlices (cluster-scoped) and the Node (for the owner UID). */
export interface SliceClient {
  /** List slices matching a field selector (`spec.nodeName=…,spec.driver=…`). */
  list(fieldSelector: string): Promise<ResourceSliceObject[]>
  create(slice: ResourceSliceObject): Promise<ResourceSliceObject>
  /** Replace (PUT) a slice; `metadata.name` and `metadata.resourceVersion` must be set. */
  update(slice: ResourceSliceObject): Promise<ResourceSliceObject>
  /** Delete with preconditions; a slice that is already gone is not an error. */
  delete(name: string, preconditions: { uid?: string; resourceVersion?: string }): Promise<void>
  /** UID of the Node object (owner of the slices). */
  nodeUid(nodeName: string): Promise<string>
  /** Watch slices matching a field selector; `onClose` is called once when the watch ends. */
  watch(
    fieldSelector: string,
    onEvent: (type: WatchEventType, slice: ResourceSliceObject) => void,
    onClose: (err?: unknown) => void,
  ): Promise<WatchHandle>
}
