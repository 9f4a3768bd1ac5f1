/**
 * Device health (KEP-4680) as a pure function of what the driver knows: the devices it publishes,
 * the host links behind its `host-<name>` devices, the prepared claims with their attachments, and
 * what a probe last saw inside each attachment's network namespace. No I/O here: the monitor
 * gathers the inputs, this decides.
 *
 * Rules:
 *  - a `host-<name>` device is UNHEALTHY when its link is down (operstate other than `up` or
 *    `unknown`, the state virtual links without carrier detection report while up), or gone from
 *    the host while no attachment explains it (host-device moves the link into the pod);
 *  - any device with attachments is UNHEALTHY when an attachment's interface is gone from its pod's
 *    namespace, is not up there (a macvlan/ipvlan child whose parent link went down reads
 *    `lowerlayerdown`), or lacks an address the CNI result gave it; a namespace that is itself gone
 *    is not a fault of the device (the sandbox is being torn down) and is skipped;
 *  - a probe that could not look (nsenter/ip failed) makes the device UNKNOWN unless a definite
 *    fault is known; everything else is HEALTHY.
 */
import { networkDataFromResult } from '../cni/result.js'
import { linkIsUp, type HostLink } from '../inventory/host-links.js'
import { hostDeviceName } from '../slices/device-builder.js'
import type { AttachmentRecord, ClaimRecord } from '../state/state-types.js'

/** Health as the kubelet's `HealthStatus` enum names it. */
export type HealthState = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN'

/** The health of one device of this driver's pool. */
export interface DeviceHealth {
  readonly pool: string
  readonly device: string
  readonly health: HealthState
  /** Why, for UNHEALTHY and UNKNOWN; empty when healthy. At most {@link MAX_HEALTH_MESSAGE}. */
  readonly message: string
}

/** The kubelet keeps at most this many characters of a health message. */
export const MAX_HEALTH_MESSAGE = 1024

/** One interface as a probe saw it inside a pod's namespace. */
export interface SeenInterface {
  /** Operational state, lower-cased (`up`, `lowerlayerdown`, …). */
  readonly state: string
  /** Addresses in CIDR form. */
  readonly addresses: readonly string[]
}

/** What a probe saw in one network namespace. */
export type NetnsView =
  | { readonly kind: 'gone' }
  | { readonly kind: 'error'; readonly message: string }
  | {
      readonly kind: 'seen'
      /** Interface name → what it looks like. */
      readonly interfaces: ReadonlyMap<string, SeenInterface>
    }

/** Inputs of {@link computeDeviceHealth}. */
export interface DeviceHealthInput {
  /** This node's pool name. */
  readonly pool: string
  /** Device names currently published in the pool. */
  readonly published: readonly string[]
  /** Host links currently offered (the ones behind `host-<name>` devices). */
  readonly links: readonly HostLink[]
  /** Prepared claims. */
  readonly claims: readonly ClaimRecord[]
  /** Last probe result per {@link netnsKey}; a missing key is "not probed yet". */
  readonly netns: ReadonlyMap<string, NetnsView>
}

/** Key of the probe result of an attachment's namespace (path plus identity at ADD time). */
export function netnsKey(a: Pick<AttachmentRecord, 'netns' | 'netnsId'>): string {
  return `${a.netns}\u0000${a.netnsId ?? ''}`
}

/** The attachments whose namespace a probe should look into. */
export function probedAttachments(claims: readonly ClaimRecord[]): AttachmentRecord[] {
  return claims.flatMap(c => c.attachments.filter(a => a.phase === 'attached' && a.netns !== ''))
}

/** Plugin fields that name a node link the attachment depends on (its parent or bridge). */
const PARENT_FIELDS = ['master', 'bridge'] as const

/**
 * The node links whose changes can alter a prepared claim's health: the host interface a plan
 * holds, the parent or bridge its network names (`master`, `bridge` of any plugin), and the node
 * side of each attachment (interfaces of its CNI result outside the sandbox: a veth peer, a
 * bridge). A link event for any other link (another pod's veth) cannot change a device's health.
 */
export function claimLinks(claims: readonly ClaimRecord[]): Set<string> {
  const out = new Set<string>()
  for (const claim of claims) {
    for (const plan of claim.plans) {
      if (plan.hostInterface !== undefined) out.add(plan.hostInterface)
      const plugins = plan.networkConfig['plugins']
      for (const p of Array.isArray(plugins) ? (plugins as unknown[]) : []) {
        if (typeof p !== 'object' || p === null) continue
        for (const field of PARENT_FIELDS) {
          const v = (p as Record<string, unknown>)[field]
          if (typeof v === 'string' && v !== '') out.add(v)
        }
      }
    }
    for (const a of claim.attachments) {
      const ifaces = a.result?.['interfaces']
      for (const i of Array.isArray(ifaces) ? (ifaces as unknown[]) : []) {
        if (typeof i !== 'object' || i === null) continue
        const { name, sandbox } = i as Record<string, unknown>
        if (typeof name === 'string' && name !== '' && (sandbox ?? '') === '') out.add(name)
      }
    }
  }
  return out
}

/** Health of every published device and every device a prepared claim holds, sorted by name. */
export function computeDeviceHealth(input: DeviceHealthInput): DeviceHealth[] {
  const linkByDevice = new Map(input.links.map(l => [hostDeviceName(l.name), l]))
  const held = new Map<string, { hostInterface?: string; attachments: AttachmentRecord[] }>()
  for (const claim of input.claims) {
    for (const plan of claim.plans) {
      if (plan.pool !== input.pool) continue
      const entry = held.get(plan.device) ?? { attachments: [] }
      if (plan.hostInterface !== undefined) entry.hostInterface = plan.hostInterface
      held.set(plan.device, entry)
    }
    for (const a of claim.attachments) {
      if (a.phase === 'attached') held.get(a.device)?.attachments.push(a)
    }
  }
  const names = [...new Set([...input.published, ...held.keys()])].sort()
  return names.map(device => {
    const h = held.get(device)
    const problems: string[] = []
    const unknowns: string[] = []
    if (device.startsWith('host-')) {
      hostProblems(device, linkByDevice.get(device), h, problems)
    }
    for (const a of h?.attachments ?? []) {
      attachmentProblems(a, input.netns.get(netnsKey(a)), problems, unknowns)
    }
    const health: HealthState =
      problems.length > 0 ? 'UNHEALTHY' : unknowns.length > 0 ? 'UNKNOWN' : 'HEALTHY'
    const message = truncate([...problems, ...unknowns].join('; '))
    return { pool: input.pool, device, health, message }
  })
}

function hostProblems(
  device: string,
  link: HostLink | undefined,
  held: { hostInterface?: string; attachments: AttachmentRecord[] } | undefined,
  problems: string[],
): void {
  if (link !== undefined) {
    if (!linkIsUp(link)) {
      problems.push(`host link ${link.name} is ${link.state}`)
    }
    return
  }
  // Gone from the host: expected while an attachment holds it (host-device moved it into the pod;
  // the attachment check then judges it).
  if (held !== undefined && held.attachments.length > 0) return
  problems.push(`host link ${held?.hostInterface ?? device} is gone from the node`)
}

function attachmentProblems(
  a: AttachmentRecord,
  view: NetnsView | undefined,
  problems: string[],
  unknowns: string[],
): void {
  if (view === undefined || view.kind === 'gone') return
  const pod = `pod ${a.podNamespace}/${a.podName}`
  if (view.kind === 'error') {
    unknowns.push(`cannot look into the network namespace of ${pod}: ${view.message}`)
    return
  }
  const have = view.interfaces.get(a.ifName)
  if (have === undefined) {
    problems.push(`interface ${a.ifName} is gone from ${pod}`)
    return
  }
  if (!linkIsUp(have)) {
    problems.push(`interface ${a.ifName} of ${pod} is ${have.state}`)
    return
  }
  const missing = expectedAddresses(a).filter(addr => !have.addresses.includes(addr))
  if (missing.length > 0) {
    problems.push(`interface ${a.ifName} of ${pod} lacks ${missing.join(', ')}`)
  }
}

/** The addresses the CNI result gave the attachment's interface (none when undecodable). */
function expectedAddresses(a: AttachmentRecord): readonly string[] {
  if (a.result === undefined) return []
  try {
    return networkDataFromResult(a.result, a.ifName).ips
  } catch {
    return []
  }
}

function truncate(message: string): string {
  return message.length <= MAX_HEALTH_MESSAGE
    ? message
    : `${message.slice(0, MAX_HEALTH_MESSAGE - 3)}...`
}
