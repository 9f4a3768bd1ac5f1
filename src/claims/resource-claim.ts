/**
 * The parts of a `resource.k8s.io/v1` ResourceClaim (and DeviceClass config) that the driver reads,
 * as plain JSON shapes. Kept minimal and read-only so objects from the kube client, from a test
 * table, or from a raw GET all fit without conversion.
 */

/** `status.allocation.devices.results[]` entry. */
export interface DeviceRequestAllocationResult {
  /** `<request>` or `<request>/<subrequest>` (prioritized list). */
  readonly request: string
  readonly driver: string
  readonly pool: string
  readonly device: string
  readonly adminAccess?: boolean | undefined
  readonly shareID?: string | undefined
}

/** Opaque parameters addressed to one driver. */
export interface OpaqueDeviceConfiguration {
  readonly driver: string
  readonly parameters?: unknown
}

/** `status.allocation.devices.config[]` entry. */
export interface DeviceAllocationConfiguration {
  readonly source: string
  readonly requests?: readonly string[] | undefined
  readonly opaque?: OpaqueDeviceConfiguration | undefined
}

/** `status.allocation`. */
export interface AllocationResult {
  readonly devices?:
    | {
        readonly results?: readonly DeviceRequestAllocationResult[] | undefined
        readonly config?: readonly DeviceAllocationConfiguration[] | undefined
      }
    | undefined
  readonly nodeSelector?: unknown
}

/** The ResourceClaim fields the driver uses. */
export interface ResourceClaimV1 {
  readonly apiVersion?: string | undefined
  readonly kind?: string | undefined
  readonly metadata?:
    | {
        readonly name?: string | undefined
        readonly namespace?: string | undefined
        readonly uid?: string | undefined
        readonly annotations?: Readonly<Record<string, string>> | undefined
        readonly generation?: number | undefined
      }
    | undefined
  readonly status?:
    | {
        readonly allocation?: AllocationResult | undefined
        readonly reservedFor?:
          | readonly {
              readonly apiGroup?: string | undefined
              readonly resource?: string
              readonly name?: string
              readonly uid?: string
            }[]
          | undefined
      }
    | undefined
}

/** Main request name of an allocation result's request (`req/sub` → `req`). */
export function mainRequestName(request: string): string {
  const slash = request.indexOf('/')
  return slash < 0 ? request : request.slice(0, slash)
}
