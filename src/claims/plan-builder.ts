/**
 * Claim → attachment plans. Pure and deterministic: the same claim, driver, node, policy and host
 * interfaces always give the same plans (prepare runs again on every kubelet retry and restart,
 * and must return the same answer without side effects). All side effects happen elsewhere.
 */
import type { AttachmentPlan } from '../attach/attachment-plan.js'
import { DriverError } from '../errors.js'
import {
  interfaceNameRule,
  overrideProblems,
  policyBounds,
  type ClaimContext,
} from './claim-rules.js'
import { CLASS_NETWORK_NAME_RE, type NetworkConfList } from './cni-config.js'
import {
  entryAppliesTo,
  mergeForRequest,
  parseConfigEntries,
  type MergedConfig,
  type ParsedConfigEntry,
} from './config-merge.js'
import { derivedNetworkName } from './network-name.js'
import {
  DEVICE_SELECTORS,
  HOST_DEVICE_TYPE,
  MASTER_PLUGIN_TYPES,
  addressList,
  cniVersionProblems,
  rawNetworkProblems,
} from './network-rules.js'
import { policyViolation, typeProblem, type Policy } from './policy.js'
import { problem, type PolicyProblem } from './policy-rules.js'
import {
  mainRequestName,
  type DeviceRequestAllocationResult,
  type ResourceClaimV1,
} from './resource-claim.js'

/** Attachment-slot device names: `attachment-<n>`. */
export const ATTACHMENT_DEVICE_RE = /^attachment-(0|[1-9][0-9]*)$/
/** Host-interface device names: `host-<sanitised ifname>`. */
export const HOST_DEVICE_PREFIX = 'host-'

/** host-device keys that select a device (kernelpath too: admin networks may use it). */
const HOST_DEVICE_SELECTORS: readonly string[] = [...DEVICE_SELECTORS, 'kernelpath']

/** Inputs of {@link buildAttachmentPlans}. */
export interface PlanBuilderInput {
  readonly claim: ResourceClaimV1
  readonly driverName: string
  readonly nodeName: string
  readonly policy: Policy
  /** The host interface behind a published `host-…` device of this node (undefined if none). */
  readonly hostInterface: (deviceName: string) => string | undefined
  /** API group of the CNIConfig (defaults to the driver name). */
  readonly apiGroup?: string
}

/**
 * One plan per allocation result of this driver, in allocation order. Throws a `DriverError`
 * meant for the user (it becomes the claim's prepare error):
 * `NDRA_CLAIM_NOT_ALLOCATED` (not allocated, or allocated on another node),
 * `NDRA_INVALID_ARGUMENT` (a device this node does not publish),
 * `NDRA_POLICY_VIOLATION` (policy; the message also lists config problems),
 * `NDRA_OPAQUE_CONFIG` (malformed or incomplete CNIConfig).
 */
export function buildAttachmentPlans(input: PlanBuilderInput): AttachmentPlan[] {
  const results = myResults(input)
  const namespace = input.claim.metadata?.namespace ?? ''
  const claim: ClaimContext = {
    namespace,
    granted: input.policy.tenantNetworkNamespaces.includes(namespace),
  }
  const parsed = parseConfigEntries(input.claim.status?.allocation?.devices?.config, {
    driverName: input.driverName,
    policy: input.policy,
    apiGroup: input.apiGroup ?? input.driverName,
    claim,
  })
  const configErrors = [...parsed.errors]
  const policyErrors = [...parsed.policyProblems]
  const perRequest = new Map<string, number>()
  for (const r of results) perRequest.set(r.request, (perRequest.get(r.request) ?? 0) + 1)

  const drafts: Draft[] = []
  for (const r of results) {
    const hostIf = hostInterfaceOf(r, input)
    const merged = mergeForRequest(parsed.entries, r.request)
    const claimEntries = parsed.entries.filter(
      e => e.source === 'claim' && entryAppliesTo(e, r.request),
    )
    const d = draftFor(r, merged, hostIf, perRequest.get(r.request) ?? 1, input.policy, {
      claim,
      claimEntries,
      droppedEntry: parsed.dropped.some(requests => entryAppliesTo({ requests }, r.request)),
    })
    configErrors.push(...d.configErrors)
    policyErrors.push(...d.policyErrors)
    drafts.push(d)
  }
  const names = assignInterfaceNames(drafts)
  configErrors.push(...names.errors)
  policyErrors.push(...names.problems)
  if (policyErrors.length > 0) throw policyViolation(policyErrors, configErrors)
  if (configErrors.length > 0) {
    throw new DriverError('NDRA_OPAQUE_CONFIG', `invalid configuration: ${configErrors.join('; ')}`)
  }
  return drafts.map((d, i) => toPlan(d, names.names[i] ?? ''))
}

function myResults(input: PlanBuilderInput): DeviceRequestAllocationResult[] {
  const meta = input.claim.metadata
  const id = `${meta?.namespace ?? ''}/${meta?.name ?? ''}`
  const allocation = input.claim.status?.allocation
  if (allocation === undefined) {
    throw new DriverError(
      'NDRA_CLAIM_NOT_ALLOCATED',
      `ResourceClaim ${id} is not allocated; it is allocated when a pod that uses it is scheduled`,
    )
  }
  const results = (allocation.devices?.results ?? []).filter(r => r.driver === input.driverName)
  if (results.length === 0) {
    throw new DriverError(
      'NDRA_CLAIM_NOT_ALLOCATED',
      `ResourceClaim ${id} has no device of driver ${input.driverName} allocated`,
    )
  }
  const elsewhere = results.filter(r => r.pool !== input.nodeName)
  if (elsewhere.length > 0) {
    const list = elsewhere.map(r => `${r.pool}/${r.device}`).join(', ')
    throw new DriverError(
      'NDRA_CLAIM_NOT_ALLOCATED',
      `ResourceClaim ${id} has devices allocated on another node (${list}); this is node ${input.nodeName}`,
    )
  }
  return results
}

function hostInterfaceOf(
  r: DeviceRequestAllocationResult,
  input: PlanBuilderInput,
): string | undefined {
  if (ATTACHMENT_DEVICE_RE.test(r.device)) return undefined
  if (r.device.startsWith(HOST_DEVICE_PREFIX)) {
    const name = input.hostInterface(r.device)
    if (name !== undefined) return name
    throw new DriverError(
      'NDRA_INVALID_ARGUMENT',
      `device ${r.device} was allocated, but its host interface is no longer present on node ${input.nodeName}; delete and re-create the pod's claim`,
    )
  }
  throw new DriverError(
    'NDRA_INVALID_ARGUMENT',
    `device ${r.device} is not a device this driver publishes on node ${input.nodeName}`,
  )
}

interface Draft {
  readonly result: DeviceRequestAllocationResult
  readonly merged: MergedConfig
  readonly network: NetworkConfList | undefined
  readonly hostIf: string | undefined
  readonly configErrors: string[]
  readonly policyErrors: PolicyProblem[]
  /** Whether a claim entry chose the interface name. */
  readonly nameFromClaim: boolean
}

/** Who wrote the claim and which of its entries apply to the request. */
interface ClaimSide {
  readonly claim: ClaimContext
  readonly claimEntries: readonly ParsedConfigEntry[]
  /** An entry for this request was refused already (its problems say why it has no network). */
  readonly droppedEntry: boolean
}

function draftFor(
  r: DeviceRequestAllocationResult,
  merged: MergedConfig,
  hostIf: string | undefined,
  devicesOfRequest: number,
  policy: Policy,
  side: ClaimSide,
): Draft {
  const configErrors: string[] = []
  const policyErrors: PolicyProblem[] = []
  const nameFromClaim = side.claimEntries.some(e => e.config.interfaceName !== undefined)
  const at = `request "${r.request}" (device ${r.device})`
  if (merged.network === undefined) {
    const where = side.claim.granted
      ? `add a CNIConfig with "network" to the claim's spec.devices.config (requests: ["${mainRequestName(r.request)}"]) or use the DeviceClass of an admin network`
      : 'use the DeviceClass of an admin network (one that carries a network)'
    if (!side.droppedEntry) configErrors.push(`${at}: no network configuration; ${where}`)
    return {
      result: r,
      merged,
      network: undefined,
      hostIf,
      configErrors,
      policyErrors,
      nameFromClaim,
    }
  }
  const source = merged.networkSource ?? 'claim'
  const path = merged.networkPath ?? 'network'
  policyErrors.push(...cniVersionProblems(merged.network, path))
  if (source === 'claim') {
    const bounds = policyBounds(policy)
    policyErrors.push(
      ...rawNetworkProblems(merged.network, policy, {
        path,
        hostInterface: hostIf,
        sharedLink: r.shareID !== undefined,
        bounds,
      }),
    )
    for (const e of side.claimEntries) {
      if (e.config.ips !== undefined) {
        policyErrors.push(...addressList(e.config.ips, `${e.path}.ips`, 'cidr', bounds))
      }
    }
  } else {
    policyErrors.push(...adminNetworkProblems(merged.network, path))
    if (!CLASS_NETWORK_NAME_RE.test(merged.network.name)) {
      configErrors.push(
        `${path}.name: "${merged.network.name}" is not a valid network name (letters, digits, ".", "_", "-")`,
      )
    }
    const admin = { network: merged.network, overrides: merged.claimOverrides }
    for (const e of side.claimEntries) {
      policyErrors.push(...overrideProblems(e.config, e.path, admin, policy))
    }
  }
  // The plugins, the result cache and IPAM see only the derived name (network-name.ts).
  const network: NetworkConfList = {
    ...structuredClone(merged.network),
    name: derivedNetworkName({
      source,
      namespace: side.claim.namespace,
      name: merged.network.name,
    }),
  }
  if (hostIf !== undefined) {
    // Claim networks: the pinning rules (network-rules.ts) already report every misuse.
    const inj = injectHostInterface(network, hostIf, path, r.shareID !== undefined)
    if (source === 'class') configErrors.push(...inj)
  }
  if (devicesOfRequest > 1) {
    for (const f of ['interfaceName', 'mac', 'ips'] as const) {
      if (merged[f] !== undefined) {
        configErrors.push(
          `${at}: "${f}" is set but the request was allocated ${devicesOfRequest} devices, which cannot share it; set it per request with count 1`,
        )
      }
    }
  }
  for (const cap of ['mac', 'ips'] as const) {
    if (merged[cap] !== undefined && !declaresCapability(network, cap)) {
      configErrors.push(
        `${at}: "${cap}" is set but no plugin of network "${merged.network.name}" declares capabilities: {"${cap}": true}, so it would be ignored; add it to the plugin that applies it`,
      )
    }
  }
  return { result: r, merged, network, hostIf, configErrors, policyErrors, nameFromClaim }
}

/** Structural rule for admin networks: plugin and IPAM types are bare plugin names. */
function adminNetworkProblems(network: NetworkConfList, path: string): PolicyProblem[] {
  const out: PolicyProblem[] = []
  network.plugins.forEach((plugin, i) => {
    const at = `${path}.plugins[${i}]`
    const bad = typeProblem(plugin['type'])
    if (bad !== undefined) out.push(problem('plugin-type', `${at}.type`, bad))
    const ipam = plugin['ipam']
    if (typeof ipam === 'object' && ipam !== null && 'type' in ipam) {
      const ipamBad = typeProblem((ipam as Record<string, unknown>)['type'])
      if (ipamBad !== undefined) out.push(problem('plugin-type', `${at}.ipam.type`, ipamBad))
    }
  })
  return out
}

/**
 * Point macvlan/ipvlan/vlan (`master`) and host-device (`device`) at the allocated interface. A
 * shared link (`shared`: the allocation has a shareID) is only ever a parent: host-device would
 * move it out from under the other claims' children.
 */
function injectHostInterface(
  network: NetworkConfList,
  hostIf: string,
  path: string,
  shared: boolean,
): string[] {
  const problems: string[] = []
  let used = false
  for (const [i, p] of network.plugins.entries()) {
    const plugin = p as Record<string, unknown>
    const type = plugin['type']
    const at = `${path}.plugins[${i}]`
    if (typeof type === 'string' && MASTER_PLUGIN_TYPES.includes(type)) {
      used = true
      if (plugin['master'] === undefined) plugin['master'] = hostIf
      else if (plugin['master'] !== hostIf) {
        problems.push(
          `${at}.master is ${JSON.stringify(plugin['master'])} but the allocated host interface is "${hostIf}"; remove "master" to use the allocated one`,
        )
      }
    } else if (type === HOST_DEVICE_TYPE && shared) {
      used = true
      problems.push(
        `${at}: host-device would move the shared host link "${hostIf}" away from the other claims using it; use macvlan, ipvlan or vlan`,
      )
    } else if (type === HOST_DEVICE_TYPE) {
      used = true
      const set = HOST_DEVICE_SELECTORS.filter(k => plugin[k] !== undefined)
      if (set.length === 0) plugin['device'] = hostIf
      else if (!(set.length === 1 && set[0] === 'device' && plugin['device'] === hostIf)) {
        problems.push(
          `${at}: host-device must move the allocated host interface "${hostIf}"; remove ${set.map(k => `"${k}"`).join(', ')}`,
        )
      }
    }
  }
  if (!used) {
    problems.push(
      `${path}: a host interface ("${hostIf}") was allocated but no plugin uses it; use macvlan, ipvlan, vlan or host-device`,
    )
  }
  return problems
}

function declaresCapability(network: NetworkConfList, cap: string): boolean {
  return network.plugins.some(p => {
    const caps = p['capabilities']
    return (
      typeof caps === 'object' && caps !== null && (caps as Record<string, unknown>)[cap] === true
    )
  })
}

/**
 * Explicit names must be unique; devices without one get `net<k>` with the lowest k ≥ 1 that no
 * other device of the claim uses, in allocation order.
 */
function assignInterfaceNames(drafts: readonly Draft[]): {
  names: string[]
  errors: string[]
  problems: PolicyProblem[]
} {
  const errors: string[] = []
  const problems: PolicyProblem[] = []
  const taken = new Map<string, string>()
  for (const d of drafts) {
    const name = d.merged.interfaceName
    if (name === undefined) continue
    // A claim's own interfaceName is judged where it was written (claim-rules.ts).
    if (!d.nameFromClaim) {
      problems.push(...interfaceNameRule(name, `request "${d.result.request}" interfaceName`))
    }
    const other = taken.get(name)
    if (other !== undefined && other !== d.result.device) {
      errors.push(
        `interface name "${name}" is used by devices ${other} and ${d.result.device}; give each request its own interfaceName`,
      )
    }
    taken.set(name, d.result.device)
  }
  let k = 1
  const names = drafts.map(d => {
    if (d.merged.interfaceName !== undefined) return d.merged.interfaceName
    while (taken.has(`net${k}`)) k++
    const name = `net${k}`
    taken.set(name, d.result.device)
    return name
  })
  return { names, errors, problems }
}

function toPlan(d: Draft, ifName: string): AttachmentPlan {
  const capabilityArgs: Record<string, unknown> = {}
  if (d.merged.mac !== undefined) capabilityArgs['mac'] = d.merged.mac
  if (d.merged.ips !== undefined) capabilityArgs['ips'] = [...d.merged.ips]
  const cniArgs = Object.entries(d.merged.cniArgs)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, v] as const)
  const plan: AttachmentPlan = {
    request: mainRequestName(d.result.request),
    ...(d.result.request.includes('/') ? { requestRef: d.result.request } : {}),
    pool: d.result.pool,
    device: d.result.device,
    networkConfig: d.network as unknown as Readonly<Record<string, unknown>>,
    ifName,
    capabilityArgs,
    cniArgs,
    ...(d.hostIf !== undefined ? { hostInterface: d.hostIf } : {}),
    ...(d.result.shareID !== undefined ? { shareID: d.result.shareID } : {}),
  }
  return plan
}
