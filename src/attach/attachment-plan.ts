/**
 * The attachment plan: everything needed to run CNI for one allocated device of a prepared claim,
 * computed at prepare time (slow path) and only read on the hook path (fast path). Deterministic
 * for a given claim + configuration, so a repeated prepare produces the same plan.
 */

/** One CNI attachment to perform when a container that references the claim is created. */
export interface AttachmentPlan {
  /** Request name in the claim (main request; `req/sub` is stored as `req`). */
  readonly request: string
  /**
   * The `<request>/<subrequest>` reference of the allocation result when the request used a
   * prioritized list (`firstAvailable`); absent otherwise.
   */
  readonly requestRef?: string
  /** Allocated device identity (pool = node name). */
  readonly pool: string
  readonly device: string
  /** The network configuration list (conflist JSON object) to run; validated against the policy. */
  readonly networkConfig: Readonly<Record<string, unknown>>
  /** Interface name inside the pod, e.g. `net1` (1–15 chars, CNI rules). */
  readonly ifName: string
  /** CNI capability args (`mac`, `ips`, `deviceID`, …) passed as runtimeConfig where declared. */
  readonly capabilityArgs: Readonly<Record<string, unknown>>
  /** Extra CNI_ARGS pairs from the user config (added after the Kubernetes ones). */
  readonly cniArgs: readonly (readonly [string, string])[]
  /** Host interface allocated with this device, when the device is a host NIC. */
  readonly hostInterface?: string
  /**
   * The allocation's share of a device that allows multiple allocations (a shared host link,
   * KEP-5075); absent for exclusive devices. Part of the allocation's identity: one claim may hold
   * several shares of one device, each its own child interface.
   */
  readonly shareID?: string
}

/** What identifies one allocation of a claim: request, device and share. */
export interface AllocationIdentity {
  readonly request: string
  readonly device: string
  readonly shareID?: string | undefined
}

/** Same allocation (records and plans of one claim are matched by this). */
export function sameAllocation(a: AllocationIdentity, b: AllocationIdentity): boolean {
  return a.request === b.request && a.device === b.device && a.shareID === b.shareID
}

/**
 * The device part of CDI device names and of the hook's `--device` argument: the device name, plus
 * `.<shareID>` for a share. Device names are DNS labels and share IDs UUIDs, so neither contains a
 * dot and the key splits back unambiguously; both are valid CDI name characters.
 */
export function allocationKey(a: Pick<AllocationIdentity, 'device' | 'shareID'>): string {
  return a.shareID === undefined ? a.device : `${a.device}.${a.shareID}`
}
