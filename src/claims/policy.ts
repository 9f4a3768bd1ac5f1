/**
 * The admin policy (file v2, issue 7 contract §1) that bounds what a ResourceClaim may make the
 * node run. CNI plugins run as root on the node, so a claim is tenant input and is judged at
 * prepare time against this policy; the chart renders the same values into the admission policy.
 *
 * Trust model:
 * - Config from a DeviceClass (`FromClass`) is written by the cluster admin: an "admin network".
 *   Only structural rules apply to it (a plugin type is a bare name, a known cniVersion). Its
 *   optional `claimOverrides` says what a claim may set on top (interfaceName, mac, ips).
 * - Config from a ResourceClaim (`FromClaim`) is tenant input. A whole network in a claim (a "raw
 *   network") needs the claim's namespace in `tenantNetworkNamespaces`, and even then every field
 *   that reaches the node is checked against the admin lists below (see network-rules.ts).
 */
import { readFile } from 'node:fs/promises'
import { Ajv, type ValidateFunction } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { DriverError, InvalidConfigError, errorMessage } from '../errors.js'
import { parseNet } from './addresses.js'
import type { JsonLimits } from './json-keys.js'
import { formatProblem, type PolicyProblem } from './policy-rules.js'
import { formatSchemaErrors } from './schema-errors.js'

/** The policy object (from the file given to the daemon with `--policy-file`). */
export interface Policy {
  /** Namespaces whose claims may carry a whole CNI network. */
  readonly tenantNetworkNamespaces: readonly string[]
  /** Plugin and IPAM types a raw network may use. */
  readonly allowedPluginTypes: readonly string[]
  /** Host links a raw network may name as macvlan/ipvlan/vlan `master` (exact names). */
  readonly allowedParentLinks: readonly string[]
  /** Bridge names a raw `bridge` plugin may create or join (exact names). */
  readonly allowedBridges: readonly string[]
  /** CIDRs every tenant address and range must lie inside. */
  readonly allowedCIDRs: readonly string[]
  /** The cluster's pod and service CIDRs: never allowed, even inside allowedCIDRs. */
  readonly clusterCIDRs: readonly string[]
  /** tuning `sysctl` keys a raw network may set (exact names). */
  readonly allowedSysctls: readonly string[]
  /** Keys forbidden at every depth, compared with Go's case folding; `x*` is a prefix. */
  readonly forbiddenKeys: readonly string[]
  /** Size limits of a claim's opaque parameters. */
  readonly limits: JsonLimits
}

/**
 * Default raw-network plugin types: interface, IPAM and meta plugins that change only the pod
 * (given the per-type rules). Not firewall/portmap (host iptables: admin networks only), not
 * host-device (only through the host-interface class, pinned to the allocated NIC), not dhcp
 * (the node's dhcp daemon socket).
 */
export const DEFAULT_ALLOWED_PLUGIN_TYPES: readonly string[] = Object.freeze([
  'bridge',
  'macvlan',
  'ipvlan',
  'vlan',
  'ptp',
  'host-local',
  'static',
  'tuning',
  'bandwidth',
  'sbr',
  'loopback',
])

/** Default forbidden keys: host paths and sockets plugins would open, runtime-only fields, and
 * keys reserved by the CNI spec. */
export const DEFAULT_FORBIDDEN_KEYS: readonly string[] = Object.freeze([
  'dataDir',
  'resolvConf',
  'daemonSocketPath',
  'socketPath',
  'kernelpath',
  'runtimeConfig',
  'logFile',
  'log_file',
  'kubeconfig',
  'cni.dev/*',
])

/** Default size limits: generous for any real network, far below what could hurt the daemon. */
export const DEFAULT_LIMITS: JsonLimits = Object.freeze({
  maxDepth: 16,
  maxNodes: 2000,
  maxBytes: 16384,
})

/** The built-in policy: no raw networks anywhere; admin networks only. */
export const DEFAULT_POLICY: Policy = Object.freeze({
  tenantNetworkNamespaces: Object.freeze([]),
  allowedPluginTypes: DEFAULT_ALLOWED_PLUGIN_TYPES,
  allowedParentLinks: Object.freeze([]),
  allowedBridges: Object.freeze([]),
  allowedCIDRs: Object.freeze([]),
  clusterCIDRs: Object.freeze([]),
  allowedSysctls: Object.freeze([]),
  forbiddenKeys: DEFAULT_FORBIDDEN_KEYS,
  limits: DEFAULT_LIMITS,
})

const STRINGS = { type: 'array', items: { type: 'string', minLength: 1 } } as const

const POLICY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tenantNetworkNamespaces: STRINGS,
    allowedPluginTypes: STRINGS,
    allowedParentLinks: STRINGS,
    allowedBridges: STRINGS,
    allowedCIDRs: STRINGS,
    clusterCIDRs: STRINGS,
    allowedSysctls: STRINGS,
    forbiddenKeys: STRINGS,
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxDepth: { type: 'integer', minimum: 4, maximum: 64 },
        maxNodes: { type: 'integer', minimum: 16, maximum: 100000 },
        maxBytes: { type: 'integer', minimum: 256, maximum: 1048576 },
      },
    },
  },
} as const

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

let compiled: ValidateFunction | undefined

type PolicyInput = Partial<Omit<Policy, 'limits'>> & { limits?: Partial<JsonLimits> }

/** Validate a policy object (unknown fields are errors); missing fields take the defaults. */
export function parsePolicy(input: unknown, source = 'policy'): Policy {
  if (input === null || input === undefined) return DEFAULT_POLICY
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(POLICY_SCHEMA)
  if (!compiled(input))
    throw new InvalidConfigError(formatSchemaErrors(source, compiled.errors ?? []))
  const obj = input as PolicyInput
  const problems: string[] = []
  ;(obj.allowedPluginTypes ?? []).forEach((t, i) => {
    if (typeProblem(t) !== undefined) {
      problems.push(`${source}.allowedPluginTypes[${i}]: "${t}" must be a bare plugin name`)
    }
  })
  ;(obj.tenantNetworkNamespaces ?? []).forEach((n, i) => {
    if (!DNS_LABEL.test(n)) {
      problems.push(`${source}.tenantNetworkNamespaces[${i}]: "${n}" is not a namespace name`)
    }
  })
  for (const field of ['allowedCIDRs', 'clusterCIDRs'] as const) {
    ;(obj[field] ?? []).forEach((c, i) => {
      if (parseNet(c) === undefined) {
        problems.push(`${source}.${field}[${i}]: "${c}" is not a CIDR like 10.10.0.0/16`)
      }
    })
  }
  if (problems.length > 0) throw new InvalidConfigError(problems)
  const list = (v: readonly string[] | undefined, d: readonly string[]): readonly string[] =>
    Object.freeze([...(v ?? d)])
  return Object.freeze({
    tenantNetworkNamespaces: list(obj.tenantNetworkNamespaces, []),
    allowedPluginTypes: list(obj.allowedPluginTypes, DEFAULT_ALLOWED_PLUGIN_TYPES),
    allowedParentLinks: list(obj.allowedParentLinks, []),
    allowedBridges: list(obj.allowedBridges, []),
    allowedCIDRs: list(obj.allowedCIDRs, []),
    clusterCIDRs: list(obj.clusterCIDRs, []),
    allowedSysctls: list(obj.allowedSysctls, []),
    forbiddenKeys: list(obj.forbiddenKeys, DEFAULT_FORBIDDEN_KEYS),
    limits: Object.freeze({ ...DEFAULT_LIMITS, ...obj.limits }),
  })
}

/** Read a policy file (JSON or YAML). Throws `InvalidConfigError` naming the file. */
export async function loadPolicyFile(
  path: string,
  read: (p: string) => Promise<string> = p => readFile(p, 'utf8'),
): Promise<Policy> {
  let text: string
  try {
    text = await read(path)
  } catch (err: unknown) {
    throw new InvalidConfigError([`policy file ${path}: ${errorMessage(err)}`])
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err: unknown) {
    throw new InvalidConfigError([`policy file ${path}: not JSON or YAML: ${errorMessage(err)}`])
  }
  return parsePolicy(doc, path)
}

/** Where a piece of config came from; decides which rules apply. */
export type ConfigSource = 'class' | 'claim'

/** Why a plugin `type` value is unsafe (undefined when fine). Applies to all sources. */
export function typeProblem(type: unknown): string | undefined {
  if (typeof type !== 'string' || type === '') return 'must be a non-empty string'
  if (type.includes('/') || type.includes('\\')) {
    return 'must be a plugin name, not a path (the plugin is looked up in the CNI bin dirs)'
  }
  if (type === '.' || type === '..' || type.includes('\0')) return 'is not a plugin name'
  return undefined
}

/**
 * The error for policy problems: every problem of the claim once, each in the contract's format
 * (`network-dra policy [<rule>] <path>: <detail>; <rule message>`), then any malformed-config
 * problems, so the user sees everything in one round.
 */
export function policyViolation(
  problems: readonly PolicyProblem[],
  configErrors: readonly string[] = [],
): DriverError {
  const lines = [...new Set(problems.map(formatProblem))]
  const rest = configErrors.length > 0 ? ` | also invalid: ${configErrors.join('; ')}` : ''
  return new DriverError('NDRA_POLICY_VIOLATION', `${lines.join(' | ')}${rest}`)
}
