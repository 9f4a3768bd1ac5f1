/**
 * The one table of tenant-safety rules (issue 7 contract §4). Every policy problem the daemon
 * reports, and every message the chart's admission policy renders, is
 * `network-dra policy [<rule-id>] <field path>: <detail>; <rule message>`, with the rule message
 * taken from this table, so a user sees the same words at create time and at prepare time.
 * Rule ids are stable: add new ones, never rename.
 */

/** Stable ids of the policy rules. */
export type RuleId =
  | 'tenant-network-namespace'
  | 'claim-override'
  | 'address-range'
  | 'reserved-address'
  | 'plugin-type'
  | 'parent-link'
  | 'host-flag'
  | 'sysctl'
  | 'forbidden-key'
  | 'key-spelling'
  | 'duplicate-key'
  | 'limits'
  | 'cni-version'
  | 'cni-args'
  | 'unreferenced-claim'
  | 'interface-name'
  | 'network-name'

/** What a rule tells the user: why it exists and what to do instead. */
export interface PolicyRule {
  readonly message: string
}

/** The rule table; both layers take their rule messages from here. */
export const POLICY_RULES: Readonly<Record<RuleId, PolicyRule>> = Object.freeze({
  'tenant-network-namespace': {
    message:
      'only namespaces listed in the chart value policy.tenantNetworkNamespaces may write a whole CNI network in a claim; use a DeviceClass of an admin network, or ask the cluster admin to add this namespace',
  },
  'claim-override': {
    message:
      "a claim may set on an admin network only what the network's claimOverrides allow (interfaceName, mac, ips); ask the cluster admin to allow it",
  },
  'address-range': {
    message:
      "addresses in a claim must lie inside the CIDRs the cluster admin allows (policy.allowedCIDRs, or the admin network's claimOverrides.ips)",
  },
  'reserved-address': {
    message:
      "link-local, loopback, multicast, unspecified and the cluster's pod and service addresses (policy.clusterCIDRs) are never allowed in a claim",
  },
  'plugin-type': {
    message:
      'a claim may use only the CNI plugin types in policy.allowedPluginTypes, each as a bare name (IPAM types only as IPAM); use a DeviceClass of an admin network for anything else',
  },
  'parent-link': {
    message:
      'a claim may attach only to host links the cluster admin allows (policy.allowedParentLinks, policy.allowedBridges) or to the host interface allocated to it; a parent must always be named',
  },
  'host-flag': {
    message:
      'settings that change the node itself (isGateway, isDefaultGateway, ipMasq, ipMasqBackend, forceAddress, hairpinMode, promiscMode, firewall, portmap) are only for admin networks',
  },
  sysctl: {
    message: 'a claim may set only the tuning sysctls listed in policy.allowedSysctls',
  },
  'forbidden-key': {
    message:
      'keys that make a plugin open node files or sockets (policy.forbiddenKeys, compared as the plugins compare keys) may not appear in a claim',
  },
  'key-spelling': {
    message:
      'CNI plugins read JSON keys case-insensitively; write the keys the policy checks exactly as documented (e.g. "ipam", "type", "master")',
  },
  'duplicate-key': {
    message:
      'two keys of one object that a CNI plugin would read as the same key (case-insensitively) are not allowed; keep one',
  },
  limits: {
    message:
      'the CNIConfig of a claim must stay within the size limits of policy.limits (maxDepth, maxNodes, maxBytes)',
  },
  'cni-version': {
    message:
      'cniVersion must be a CNI version the driver and the network\'s plugins support (e.g. "1.0.0")',
  },
  'cni-args': {
    message:
      'cniArgs keys and values may not contain ";" or "=", and may not set keys the driver or the plugins reserve (K8S_*, IgnoreUnknown, IP, MAC, GATEWAY, NDRA_*); cniArgs in claims need a namespace in policy.tenantNetworkNamespaces',
  },
  'unreferenced-claim': {
    message:
      'list the claim in the resources.claims of every container that needs the interface; a claim no container references would leave the pod without its network',
  },
  'interface-name': {
    message:
      'interfaceName must be 1-15 printable ASCII characters without "/", ":" or spaces, and not a name every pod already has (lo, eth0)',
  },
  'network-name': {
    message:
      'a network name in a claim must match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$ (the driver derives the name the plugins see from it and the namespace)',
  },
})

/** Every rule id, in table order. */
export const RULE_IDS: readonly RuleId[] = Object.freeze(Object.keys(POLICY_RULES) as RuleId[])

/** One policy problem: which rule, where, and what exactly was wrong. */
export interface PolicyProblem {
  readonly rule: RuleId
  /** Field path of the offending value (`status.allocation.devices.config[0]…`). */
  readonly path: string
  /** The concrete finding, e.g. `master "eth0" is not an allowed parent link`. */
  readonly detail: string
}

/** Build a problem (a small helper so call sites read as the rule they apply). */
export function problem(rule: RuleId, path: string, detail: string): PolicyProblem {
  return { rule, path, detail }
}

/** The user-facing text of a problem (contract §4). */
export function formatProblem(p: PolicyProblem): string {
  return `network-dra policy [${p.rule}] ${p.path}: ${p.detail}; ${POLICY_RULES[p.rule].message}`
}
