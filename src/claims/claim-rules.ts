/**
 * The rules on what a claim's own CNIConfig entries may carry, apart from the network itself
 * (network-rules.ts): the namespace grant for raw networks and cniArgs, CNI_ARGS injection,
 * interface names, `claimOverrides` (admin-only), and what a claim may set on top of an admin
 * network (its `claimOverrides`: interfaceName, mac, ips inside the network's ranges).
 */
import { parseNet, type AddressBounds, type IpNet } from './addresses.js'
import { interfaceNameProblems, type CniConfig, type NetworkConfList } from './cni-config.js'
import { goFoldKey, showKey } from './json-keys.js'
import { addressList } from './network-rules.js'
import type { Policy } from './policy.js'
import { problem, type PolicyProblem } from './policy-rules.js'

/**
 * CNI_ARGS keys a claim may not set: the driver's own (Kubernetes identity, `IgnoreUnknown`,
 * `NDRA_*`) and the ones IPAM and tuning plugins read as addresses or MACs (`IP`, `MAC`,
 * `GATEWAY`), which would bypass the address and override rules. Compared case-insensitively.
 */
export const RESERVED_CNI_ARGS: readonly string[] = [
  'IgnoreUnknown',
  'K8S_POD_NAMESPACE',
  'K8S_POD_NAME',
  'K8S_POD_INFRA_CONTAINER_ID',
  'K8S_POD_UID',
  'IP',
  'MAC',
  'GATEWAY',
]
/** Key prefixes reserved the same way. */
export const RESERVED_CNI_ARG_PREFIXES: readonly string[] = ['K8S_', 'NDRA_']

/** Who wrote the claim, for the namespace grant. */
export interface ClaimContext {
  readonly namespace: string
  /** Whether the namespace is in policy.tenantNetworkNamespaces. */
  readonly granted: boolean
}

/** Rules on one claim-written CNIConfig entry that do not depend on the allocated device. */
export function claimEntryProblems(
  config: CniConfig,
  path: string,
  policy: Policy,
  ctx: ClaimContext,
): PolicyProblem[] {
  const out: PolicyProblem[] = []
  const grantList = policy.tenantNetworkNamespaces.join(', ') || 'none'
  if (config.network !== undefined && !ctx.granted) {
    out.push(
      problem(
        'tenant-network-namespace',
        `${path}.network`,
        `namespace "${ctx.namespace}" may not write a CNI network in a claim (granted namespaces: ${grantList})`,
      ),
    )
  }
  if (config.cniArgs !== undefined) {
    if (!ctx.granted) {
      out.push(
        problem(
          'cni-args',
          `${path}.cniArgs`,
          `namespace "${ctx.namespace}" may not set cniArgs (granted namespaces: ${grantList})`,
        ),
      )
    }
    out.push(...cniArgsProblems(config.cniArgs, `${path}.cniArgs`))
  }
  if (config.claimOverrides !== undefined) {
    out.push(
      problem(
        'claim-override',
        `${path}.claimOverrides`,
        'claimOverrides belongs to the DeviceClass of an admin network; a claim cannot grant itself overrides',
      ),
    )
  }
  if (config.interfaceName !== undefined) {
    out.push(...interfaceNameRule(config.interfaceName, `${path}.interfaceName`))
  }
  return out
}

/** interfaceName problems as `interface-name` policy problems. */
export function interfaceNameRule(name: string, path: string): PolicyProblem[] {
  return interfaceNameProblems(name).map(p => problem('interface-name', path, p))
}

/** CNI_ARGS injection: separators, NUL, reserved keys (any case). */
export function cniArgsProblems(
  args: Readonly<Record<string, string>>,
  path: string,
): PolicyProblem[] {
  const out: PolicyProblem[] = []
  const reserved = new Set(RESERVED_CNI_ARGS.map(goFoldKey))
  const prefixes = RESERVED_CNI_ARG_PREFIXES.map(goFoldKey)
  for (const [k, v] of Object.entries(args)) {
    const at = `${path}[${showKey(k)}]`
    if (k === '' || /[;=\s\0]/.test(k)) {
      out.push(
        problem(
          'cni-args',
          at,
          `key ${showKey(k)} must be non-empty without ";", "=", NUL or spaces`,
        ),
      )
    }
    const folded = goFoldKey(k)
    if (reserved.has(folded) || prefixes.some(p => folded.startsWith(p))) {
      out.push(
        problem(
          'cni-args',
          at,
          `key ${showKey(k)} is reserved (set by the driver or read by plugins as an address)`,
        ),
      )
    }
    if (/[;=\0]/.test(v)) {
      out.push(problem('cni-args', at, `value ${showKey(v)} must not contain ";", "=" or NUL`))
    }
  }
  return out
}

/** The address bounds of a raw network: policy.allowedCIDRs minus the reserved ranges. */
export function policyBounds(policy: Policy): AddressBounds {
  return {
    allowed: nets(policy.allowedCIDRs),
    allowedName: 'policy.allowedCIDRs',
    cluster: nets(policy.clusterCIDRs),
  }
}

function nets(cidrs: readonly string[]): IpNet[] {
  return cidrs.map(parseNet).filter((n): n is IpNet => n !== undefined)
}

/** The subnets of an admin network's IPAM: host-local ranges and static addresses. */
export function ipamSubnets(network: NetworkConfList): string[] {
  const out: string[] = []
  for (const p of network.plugins) {
    const ipam = p['ipam']
    if (typeof ipam !== 'object' || ipam === null) continue
    const o = ipam as Record<string, unknown>
    if (typeof o['subnet'] === 'string') out.push(o['subnet'])
    if (Array.isArray(o['ranges'])) {
      for (const set of o['ranges'] as unknown[]) {
        if (!Array.isArray(set)) continue
        for (const r of set as unknown[]) {
          const subnet = (r as Record<string, unknown> | null)?.['subnet']
          if (typeof subnet === 'string') out.push(subnet)
        }
      }
    }
    if (Array.isArray(o['addresses'])) {
      for (const a of o['addresses'] as unknown[]) {
        const addr = (a as Record<string, unknown> | null)?.['address']
        const n = typeof addr === 'string' ? parseNet(addr) : undefined
        if (n !== undefined) out.push(addr as string)
      }
    }
  }
  return out
}

/** An admin network as the override rules see it. */
export interface AdminNetwork {
  readonly network: NetworkConfList
  /** The class CNIConfig's claimOverrides (undefined = all defaults). */
  readonly overrides: CniConfig['claimOverrides']
}

/** What one claim entry sets on top of an admin network, against its claimOverrides. */
export function overrideProblems(
  config: CniConfig,
  path: string,
  admin: AdminNetwork,
  policy: Policy,
): PolicyProblem[] {
  const out: PolicyProblem[] = []
  const o = admin.overrides ?? {}
  const name = admin.network.name
  for (const f of ['interfaceName', 'mac'] as const) {
    if (config[f] !== undefined && o[f] === false) {
      out.push(
        problem(
          'claim-override',
          `${path}.${f}`,
          `admin network "${name}" does not let claims set ${f}`,
        ),
      )
    }
  }
  if (config.ips !== undefined) {
    const allowedIps = o.ips ?? ipamSubnets(admin.network)
    if (allowedIps.length === 0) {
      out.push(
        problem(
          'claim-override',
          `${path}.ips`,
          `admin network "${name}" does not let claims set ips`,
        ),
      )
    } else {
      out.push(
        ...addressList(config.ips, `${path}.ips`, 'cidr', {
          allowed: nets(allowedIps),
          allowedName:
            o.ips === undefined
              ? `the IPAM subnets of admin network "${name}"`
              : `claimOverrides.ips of admin network "${name}"`,
          cluster: nets(policy.clusterCIDRs),
        }),
      )
    }
  }
  return out
}
