/**
 * Builds the ResourceSlice devices this driver publishes: attachment slots `attachment-0..N-1`
 * and one `host-<name>` device per offered host interface — exclusive (kind `host-interface`), or,
 * for a link an admin shares (shared-host-links.ts), one shareable device (kind
 * `shared-host-link`, `allowMultipleAllocations` and a `children` capacity, KEP-5075) — with attributes that respect the API
 * limits (≤32 attributes per device, string values ≤64 characters, C-identifier names), a
 * link-down taint (KEP-5055) on a host interface whose link is down, and splits them into slices
 * of at most 128 devices (64 when a device carries a taint, the API's limit for that case).
 */
import { createHash } from 'node:crypto'
import { linkIsUp, type HostLink } from '../inventory/host-links.js'
import { SHARED_LINK_CAPACITY, sharedCapacityOf, type SharedLinkRule } from './shared-host-links.js'

/** One device attribute value (exactly one field set). */
export type DeviceAttribute =
  | { readonly int: number }
  | { readonly bool: boolean }
  | { readonly string: string }
  | { readonly version: string }

/** Effects of a device taint the driver sets (`None` is for admins' DeviceTaintRules). */
export type TaintEffect = 'NoSchedule' | 'NoExecute'

/**
 * `spec.devices[].taints[]` of resource.k8s.io/v1 (KEP-5055): key a label name, value a label
 * value; `timeAdded` is set by the apiserver and not compared.
 */
export interface DeviceTaint {
  readonly key: string
  readonly value?: string
  /** A {@link TaintEffect} when written by this driver; read back as the apiserver stores it. */
  readonly effect: string
}

/** `spec.devices[].capacity[].requestPolicy` of resource.k8s.io/v1 (quantities as strings). */
export interface CapacityRequestPolicy {
  readonly default?: string
  readonly validValues?: readonly string[]
  readonly validRange?: { readonly min: string; readonly max?: string; readonly step?: string }
}

/** `spec.devices[].capacity[<name>]` of resource.k8s.io/v1. */
export interface DeviceCapacity {
  readonly value: string
  readonly requestPolicy?: CapacityRequestPolicy
}

/** A ResourceSlice device (resource.k8s.io/v1 flat shape: attributes, capacity, taints). */
export interface SliceDevice {
  readonly name: string
  readonly attributes?: Readonly<Record<string, DeviceAttribute>>
  readonly capacity?: Readonly<Record<string, DeviceCapacity>>
  /** KEP-5075 (feature gate DRAConsumableCapacity, beta and on since 1.36). */
  readonly allowMultipleAllocations?: boolean
  readonly taints?: readonly DeviceTaint[]
}

/** `spec.devices` limit per slice. */
export const MAX_DEVICES_PER_SLICE = 128
/** `spec.devices` limit of a slice in which any device has taints (ResourceSliceMaxDevicesWithAdvancedFeatures). */
export const MAX_DEVICES_PER_SLICE_WITH_TAINTS = 64

/** The taint a host interface whose link is down gets; absent = no taint. */
export interface LinkDownTaint {
  /** `<driver name>/link-down`. */
  readonly key: string
  readonly effect: TaintEffect
}

/** Key of the link-down taint under the driver's domain. */
export function linkDownTaintKey(driverName: string): string {
  return `${driverName}/link-down`
}
/** Attribute string value limit. */
export const MAX_ATTRIBUTE_STRING = 64
/** Attributes + capacities per device. */
export const MAX_ATTRIBUTES = 32

/** Value of the `kind` attribute, for DeviceClass selectors
 * (`device.attributes["network-dra.dev"].kind == "attachment"`). */
export const ATTACHMENT_KIND = 'attachment'
export const HOST_INTERFACE_KIND = 'host-interface'
export const SHARED_HOST_LINK_KIND = 'shared-host-link'

/** `attachment-0` … `attachment-<count-1>`. */
export function attachmentDevices(count: number): SliceDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `attachment-${i}`,
    attributes: { kind: { string: ATTACHMENT_KIND } },
  }))
}

/**
 * Device name of a host interface: `host-<ifname>` when the name is already a DNS label part,
 * otherwise a sanitised form plus a short hash of the real name (so `eth0.100` and `eth0_100`
 * never collide). Always a valid DNS label (≤63, lower-case alphanumerics and `-`).
 */
export function hostDeviceName(ifname: string): string {
  const plain = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(ifname)
  if (plain) return `host-${ifname}`
  const sanitised = ifname
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
  const hash = createHash('sha256').update(ifname).digest('hex').slice(0, 6)
  return sanitised === '' ? `host-${hash}` : `host-${sanitised}-${hash}`
}

/** One `host-<name>` device. Values that would break a limit are left out, never truncated
 * (a truncated MAC or address would be a lie a selector could match). A link that is not up gets
 * the link-down taint, its operstate as the value (a label value: `down`, `lowerlayerdown`, …). */
export function hostInterfaceDevice(link: HostLink, taint?: LinkDownTaint): SliceDevice {
  const attrs: Record<string, DeviceAttribute> = { kind: { string: HOST_INTERFACE_KIND } }
  const str = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '' && v.length <= MAX_ATTRIBUTE_STRING) attrs[k] = { string: v }
  }
  str('interfaceName', link.name)
  str('macAddress', link.mac)
  if (link.mtu !== undefined) attrs['mtu'] = { int: link.mtu }
  str('driver', link.driver)
  str('pciAddress', link.pciAddress)
  if (link.numaNode !== undefined) attrs['numaNode'] = { int: link.numaNode }
  str('state', link.state)
  str(
    'ipv4',
    link.addresses.find(a => !a.includes(':')),
  )
  str(
    'ipv6',
    link.addresses.find(a => a.includes(':')),
  )
  const down = taint !== undefined && !linkIsUp(link)
  return {
    name: hostDeviceName(link.name),
    attributes: attrs,
    ...(down ? { taints: [linkDownTaintOf(link, taint)] } : {}),
  }
}

function linkDownTaintOf(link: HostLink, taint: LinkDownTaint): DeviceTaint {
  const value = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/.test(link.state) ? link.state : 'down'
  return { key: taint.key, value, effect: taint.effect }
}

/**
 * The shareable device of a shared host link: the host-interface device's name, attributes and
 * taint, kind `shared-host-link`, `allowMultipleAllocations`, and `capacity` children of which each
 * allocation consumes exactly one (`requestPolicy` default 1, the only valid value: a claim cannot
 * take more room than the one child it gets).
 */
export function sharedHostLinkDevice(
  link: HostLink,
  capacity: number,
  taint?: LinkDownTaint,
): SliceDevice {
  const base = hostInterfaceDevice(link, taint)
  return {
    name: base.name,
    attributes: { ...base.attributes, kind: { string: SHARED_HOST_LINK_KIND } },
    capacity: {
      [SHARED_LINK_CAPACITY]: {
        value: String(capacity),
        requestPolicy: { default: '1', validValues: ['1'] },
      },
    },
    allowMultipleAllocations: true,
    ...(base.taints !== undefined ? { taints: base.taints } : {}),
  }
}

/**
 * What a shared device becomes where the apiserver drops `allowMultipleAllocations` (feature gate
 * DRAConsumableCapacity off, the 1.35 default): today's exclusive host-interface device, so the
 * link stays usable by one claim at a time. Other devices are returned unchanged.
 */
export function exclusiveFallback(d: SliceDevice): SliceDevice {
  if (d.allowMultipleAllocations !== true) return d
  return {
    name: d.name,
    attributes: { ...d.attributes, kind: { string: HOST_INTERFACE_KIND } },
    ...(d.taints !== undefined ? { taints: d.taints } : {}),
  }
}

/**
 * Slots first, then host links (sorted by name): a stable order gives stable slices. A link
 * matching a shared rule is published ONLY as its shareable device (a link that one claim may move
 * away with host-device cannot also be the parent of other claims' children).
 */
export function poolDevices(
  slots: number,
  links: readonly HostLink[],
  taint?: LinkDownTaint,
  shared: readonly SharedLinkRule[] = [],
): SliceDevice[] {
  const hosts = [...links]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(l => {
      const capacity = sharedCapacityOf(shared, l.name)
      return capacity === undefined
        ? hostInterfaceDevice(l, taint)
        : sharedHostLinkDevice(l, capacity, taint)
    })
  return [...attachmentDevices(slots), ...hosts]
}

/** Slice size limit for a device list: 64 when any device has taints, else `max`. */
export function maxDevicesFor(devices: readonly SliceDevice[], max: number): number {
  return devices.some(d => (d.taints ?? []).length > 0)
    ? Math.min(max, MAX_DEVICES_PER_SLICE_WITH_TAINTS)
    : max
}

/** Map `host-…` device names back to interface names (for the plan builder). */
export function hostInterfaceIndex(links: readonly HostLink[]): Map<string, string> {
  return new Map(links.map(l => [hostDeviceName(l.name), l.name]))
}

/** Split into chunks of at most `max` devices; an empty pool is one empty slice. */
export function splitDevices(
  devices: readonly SliceDevice[],
  max: number = MAX_DEVICES_PER_SLICE,
): SliceDevice[][] {
  if (devices.length === 0) return [[]]
  const out: SliceDevice[][] = []
  for (let i = 0; i < devices.length; i += max) out.push(devices.slice(i, i + max))
  return out
}
