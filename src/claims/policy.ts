/**
 * The admin policy that bounds what CNI configuration may run. Tenant-written CNI config runs as
 * root on the node, so the plugin checks every network against this policy at prepare time.
 *
 * Trust model (decided here, documented in the README):
 * - Config from a DeviceClass (`FromClass`) is written by the cluster admin. Its plugin types are
 *   not limited by `allowedPluginTypes` and it may use `forbiddenKeys`; only the structural rule
 *   "a plugin type is a bare name, never a path" applies.
 * - Config from a ResourceClaim (`FromClaim`) is tenant input: every `type` (plugins and their
 *   `ipam.type`) must be in `allowedPluginTypes`, no forbidden key may appear at any depth, and
 *   `claimConfig` decides whether claims may carry CNI config at all.
 * - `host-device` is never in the tenant list by default; a tenant network may still use it when
 *   the allocated device is a host interface (`host-<name>`) picked by the scheduler, and then it
 *   may only name that interface.
 */
import { readFile } from 'node:fs/promises'
import { Ajv, type ValidateFunction } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { DriverError, InvalidConfigError, errorMessage } from '../errors.js'
import type { CniConfig, NetworkConfList } from './cni-config.js'
import { formatSchemaErrors } from './schema-errors.js'

/**
 * What a ResourceClaim may carry:
 * - `allow`: any CNIConfig field, including its own `network` (checked as tenant config);
 * - `networkOnlyFromClass`: `interfaceName`, `mac`, `ips`, `cniArgs` only; the network must come
 *   from the DeviceClass (tenants pick admin networks by class);
 * - `deny`: no CNIConfig in claims at all; everything comes from DeviceClasses.
 */
export type ClaimConfigMode = 'allow' | 'networkOnlyFromClass' | 'deny'

/** The policy object (from the file given to the daemon with `--policy-file`). */
export interface Policy {
  /** Plugin and IPAM types a claim's network may use. */
  readonly allowedPluginTypes: readonly string[]
  /** Keys a claim's network may not contain at any depth. Case-insensitive (Go's JSON decoder,
   * which every CNI plugin uses, matches struct fields case-insensitively); a trailing `*`
   * matches any key with that prefix. */
  readonly forbiddenKeys: readonly string[]
  readonly claimConfig: ClaimConfigMode
}

/** Default tenant plugin types: the usual interface, IPAM and meta plugins. Not `host-device`
 * (moves a host NIC), not `dhcp` (needs the host's dhcp daemon socket). */
export const DEFAULT_ALLOWED_PLUGIN_TYPES: readonly string[] = [
  'bridge',
  'macvlan',
  'ipvlan',
  'vlan',
  'ptp',
  'host-local',
  'static',
  'tuning',
  'portmap',
  'bandwidth',
  'sbr',
  'firewall',
  'loopback',
]

/** Default forbidden keys: host paths and sockets plugins would open, runtime-only fields, and
 * keys reserved by the CNI spec. */
export const DEFAULT_FORBIDDEN_KEYS: readonly string[] = [
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
]

export const DEFAULT_POLICY: Policy = Object.freeze({
  allowedPluginTypes: DEFAULT_ALLOWED_PLUGIN_TYPES,
  forbiddenKeys: DEFAULT_FORBIDDEN_KEYS,
  claimConfig: 'allow',
})

/** Plugins that take a host interface as parent (`master`). */
export const MASTER_PLUGIN_TYPES: readonly string[] = ['macvlan', 'ipvlan', 'vlan']
/** The plugin that moves a host interface into the pod (`device`). */
export const HOST_DEVICE_TYPE = 'host-device'

const POLICY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allowedPluginTypes: { type: 'array', items: { type: 'string', minLength: 1 } },
    forbiddenKeys: { type: 'array', items: { type: 'string', minLength: 1 } },
    claimConfig: { enum: ['allow', 'networkOnlyFromClass', 'deny'] },
  },
} as const

let compiled: ValidateFunction | undefined

/** Validate a policy object (unknown fields are errors); missing fields take the defaults. */
export function parsePolicy(input: unknown, source = 'policy'): Policy {
  if (input === null || input === undefined) return DEFAULT_POLICY
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(POLICY_SCHEMA)
  if (!compiled(input))
    throw new InvalidConfigError(formatSchemaErrors(source, compiled.errors ?? []))
  const obj = input as Partial<Policy>
  const problems: string[] = []
  ;(obj.allowedPluginTypes ?? []).forEach((t, i) => {
    if (typeProblem(t) !== undefined) {
      problems.push(`${source}.allowedPluginTypes[${i}]: "${t}" must be a bare plugin name`)
    }
  })
  if (problems.length > 0) throw new InvalidConfigError(problems)
  return Object.freeze({
    allowedPluginTypes: Object.freeze([
      ...(obj.allowedPluginTypes ?? DEFAULT_ALLOWED_PLUGIN_TYPES),
    ]),
    forbiddenKeys: Object.freeze([...(obj.forbiddenKeys ?? DEFAULT_FORBIDDEN_KEYS)]),
    claimConfig: obj.claimConfig ?? 'allow',
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

/** Context of a network check. */
export interface NetworkCheckContext {
  readonly source: ConfigSource
  /** Field path of the network, for messages. */
  readonly path: string
  /** Host interface allocated with the device, if the device is a host NIC. */
  readonly hostInterface?: string | undefined
}

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
 * Every policy problem of one network, with field paths. Empty when the network may run.
 */
export function networkPolicyProblems(
  network: NetworkConfList,
  policy: Policy,
  ctx: NetworkCheckContext,
): string[] {
  const out: string[] = []
  const tenant = ctx.source === 'claim'
  const allowed = new Set(policy.allowedPluginTypes)
  if (tenant && ctx.hostInterface !== undefined) allowed.add(HOST_DEVICE_TYPE)
  network.plugins.forEach((plugin, i) => {
    const at = `${ctx.path}.plugins[${i}]`
    out.push(...typeProblems(plugin['type'], `${at}.type`, tenant ? allowed : undefined))
    const ipam = plugin['ipam']
    if (isObject(ipam) && 'type' in ipam) {
      out.push(...typeProblems(ipam['type'], `${at}.ipam.type`, tenant ? allowed : undefined))
    }
  })
  if (tenant) out.push(...forbiddenKeyProblems(network, policy.forbiddenKeys, ctx.path))
  return out
}

function typeProblems(type: unknown, at: string, allowed: Set<string> | undefined): string[] {
  const p = typeProblem(type)
  if (p !== undefined) return [`${at}: ${p}`]
  if (allowed !== undefined && !allowed.has(type as string)) {
    return [
      `${at}: plugin type "${String(type)}" is not allowed for claims (allowed: ${[...allowed].sort().join(', ')}); ` +
        'ask the cluster admin for a DeviceClass that provides this network',
    ]
  }
  return []
}

/** Paths of keys matching the forbidden list, searched at any depth (objects and arrays). */
export function forbiddenKeyProblems(
  value: unknown,
  forbidden: readonly string[],
  path: string,
): string[] {
  const exact = new Set<string>()
  const prefixes: string[] = []
  for (const f of forbidden) {
    if (f.endsWith('*')) prefixes.push(f.slice(0, -1).toLowerCase())
    else exact.add(f.toLowerCase())
  }
  const out: string[] = []
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        walk(item, `${at}[${i}]`)
      })
    } else if (isObject(v)) {
      for (const [k, child] of Object.entries(v)) {
        const lower = k.toLowerCase()
        const keyPath = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)
          ? `${at}.${k}`
          : `${at}[${JSON.stringify(k)}]`
        if (exact.has(lower) || prefixes.some(p => lower.startsWith(p))) {
          out.push(
            `${keyPath}: key "${k}" may not be set in a claim (forbidden by the node policy)`,
          )
        }
        walk(child, keyPath)
      }
    }
  }
  walk(value, path)
  return out
}

/** Problems of a claim-sourced (`FromClaim`) CNIConfig under `policy.claimConfig`. */
export function claimConfigProblems(config: CniConfig, policy: Policy, path: string): string[] {
  switch (policy.claimConfig) {
    case 'allow':
      return []
    case 'deny':
      return [
        `${path}: this cluster does not allow CNI configuration in ResourceClaims; remove it and ` +
          'request a DeviceClass that carries the network',
      ]
    case 'networkOnlyFromClass':
      return config.network === undefined
        ? []
        : [
            `${path}.network: networks may only come from a DeviceClass on this cluster; remove ` +
              '"network" from the claim and request a DeviceClass that provides it',
          ]
  }
}

/** The error for policy problems; the message lists every problem. */
export function policyViolation(problems: readonly string[]): DriverError {
  return new DriverError('NDRA_POLICY_VIOLATION', `policy violation: ${problems.join('; ')}`)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
