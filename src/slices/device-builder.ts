/**
 * Builds the ResourceSlice devices this driver publishes: attachment slots `attachment-0..N-1`
 * and one `host-<name>` device per offered host interface, with attributes that respect the API
 * limits (≤32 attributes per device, string values ≤64 characters, C-identifier names), a
 * link-down taint (KEP-5055) on a host interface whose link is down, and splits them into slices
 * of at most 128 devices (64 when a device carries a taint, the API's limit for that case).
 */
import { createHash } from 'node:crypto'
import { linkIsUp, type HostLink } from '../inventory/host-links.js'

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

/** A ResourceSlice device (resource.k8s.io/v1 flat shape: attributes and taints). */
export interface SliceDevice {
  readonly name: string
  readonly attributes?: Readonly<Record<string, DeviceAttribute>>
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

/** Slots first, then host interfaces (sorted by name): a stable order gives stable slices. */
export function poolDevices(
  slots: number,
  links: readonly HostLink[],
  taint?: LinkDownTaint,
): SliceDevice[] {
  const hosts = [...links]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(l => hostInterfaceDevice(l, taint))
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
