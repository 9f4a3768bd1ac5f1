/**
 * The seam between the kubelet gRPC service and the driver's claim logic. The DRA service owns the
 * wire (both API versions, validation, deadlines, the every-claim-answered rule); whatever implements
 * `ClaimPreparer` owns what preparing a claim means.
 */

/** A claim as the kubelet names it: no pod identity, possibly already deleted from the API. */
export interface ClaimRef {
  readonly namespace: string
  readonly uid: string
  readonly name: string
}

/** One prepared device, as returned to the kubelet. */
export interface PreparedDevice {
  /** Main request names the device serves; empty means every request of the claim. */
  readonly requestNames: readonly string[]
  readonly poolName: string
  readonly deviceName: string
  /** Fully-qualified CDI ids the runtime must inject. */
  readonly cdiDeviceIds: readonly string[]
  /** Allocation share id; sent to kubelets that speak v1 only. */
  readonly shareId?: string
}

/** Per-claim outcome of a prepare: the devices, or a message the user will see in a pod event. */
export type PrepareResult =
  { readonly devices: readonly PreparedDevice[] } | { readonly error: string }

/**
 * The driver side of NodePrepareResources / NodeUnprepareResources. Both calls are batched per
 * driver and must be idempotent. Throw only for whole-call faults (the kubelet then ignores the
 * response); a failure of one claim belongs in that claim's result. Results are keyed by claim UID.
 * `signal` is aborted shortly before the kubelet's deadline or on shutdown.
 */
export interface ClaimPreparer {
  prepare(
    claims: readonly ClaimRef[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, PrepareResult>>
  unprepare(
    claims: readonly ClaimRef[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, { readonly error?: string }>>
}
