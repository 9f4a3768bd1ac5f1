/**
 * The opaque configuration API of the driver: `apiVersion: network-dra.dev/v1alpha1`,
 * `kind: CNIConfig`, carried in DeviceClass `spec.config[].opaque.parameters` and ResourceClaim
 * `spec.devices.config[].opaque.parameters`. Parsing is strict: unknown fields are errors, and
 * every problem is reported at once with its field path, so a user fixes a claim in one round.
 *
 * Example:
 * ```yaml
 * apiVersion: network-dra.dev/v1alpha1
 * kind: CNIConfig
 * interfaceName: net1
 * network:
 *   cniVersion: 1.0.0
 *   name: blue
 *   plugins:
 *     - type: macvlan
 *       mode: bridge
 *       capabilities: { mac: true, ips: true }
 *       ipam: { type: static }
 * mac: "02:00:00:00:00:01"
 * ips: ["10.1.0.5/24"]
 * cniArgs: { FOO: bar }
 * ```
 */
import { Ajv, type ValidateFunction } from 'ajv'
import { isIP } from 'node:net'
import { DriverError } from '../errors.js'
import { formatSchemaErrors } from './schema-errors.js'

/** Default API group of the opaque parameters (the default driver name). */
export const CNI_CONFIG_API_GROUP = 'network-dra.dev'
/** The only version so far. */
export const CNI_CONFIG_VERSION = 'v1alpha1'
export const CNI_CONFIG_KIND = 'CNIConfig'

/** Most IPs a config may request; matches the `networkData.ips` limit of the claim status. */
export const MAX_STATIC_IPS = 16
/** Most extra CNI_ARGS pairs. */
export const MAX_CNI_ARGS = 32

/** Interface names a config may not use: they already exist in every pod. */
export const RESERVED_INTERFACE_NAMES: readonly string[] = ['lo', 'eth0']

/** An inline CNI network configuration list (CNI SPEC §1, "network configuration list"). */
export interface NetworkConfList {
  readonly cniVersion: string
  readonly cniVersions?: readonly string[]
  readonly name: string
  readonly disableCheck?: boolean
  readonly disableGC?: boolean
  /** Plugin configurations in ADD order; each has at least `type`. */
  readonly plugins: readonly Readonly<Record<string, unknown>>[]
}

/** One parsed `CNIConfig` object; every field but `apiVersion`/`kind` is optional because
 * class and claim entries are merged (see config-merge.ts) before a plan needs them. */
export interface CniConfig {
  readonly apiVersion: string
  readonly kind: typeof CNI_CONFIG_KIND
  /**
   * Interface name inside the pod (CNI_IFNAME): 1–15 printable ASCII characters, no `/`, `:` or
   * whitespace, not `.`/`..`, not `lo`/`eth0`. Default: `net<k>`, the lowest k ≥ 1 not used by
   * another device of the same claim, assigned in allocation-result order.
   */
  readonly interfaceName?: string
  /**
   * The CNI network configuration list to run, inline. Replaced as a whole when a later config
   * sets it (never deep-merged: half of one network and half of another is no network).
   */
  readonly network?: NetworkConfList
  /** Static MAC for the interface; passed as the CNI capability arg `mac` (a plugin must declare
   * `capabilities: {mac: true}`, e.g. tuning or macvlan). Unicast, not all-zero. */
  readonly mac?: string
  /** Static addresses in CIDR form (`10.1.0.5/24`, `fd00::5/64`); passed as the capability arg
   * `ips` (a plugin must declare `capabilities: {ips: true}`, e.g. with static IPAM). At most 16. */
  readonly ips?: readonly string[]
  /** Extra CNI_ARGS pairs, added after the driver's Kubernetes ones. Keys and values must not
   * contain `;` or `=`; reserved keys are refused (policy rule `cni-args`, claim-rules.ts). */
  readonly cniArgs?: Readonly<Record<string, string>>
  /** Only in a DeviceClass (an admin network): what a claim may set on top of this network. */
  readonly claimOverrides?: ClaimOverrides
}

/** What a claim may set on an admin network (DeviceClass CNIConfig `claimOverrides`). */
export interface ClaimOverrides {
  /** The claim may choose the interface name. Default true. */
  readonly interfaceName?: boolean
  /** The claim may set a MAC. Default true. */
  readonly mac?: boolean
  /** CIDRs the claim's static ips must lie inside; default the subnets of the network's IPAM;
   * [] = no ips from claims. */
  readonly ips?: readonly string[]
}

const IFNAME_RE = /^[\x21-\x7e]{1,15}$/
/** Names of admin (DeviceClass) networks; tenant names follow the stricter policy rule
 * `network-name` (network-rules.ts). */
export const CLASS_NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/

/** JSON Schema of `CNIConfig` (structure only; semantic rules are in code below). */
export const CNI_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    interfaceName: { type: 'string' },
    network: {
      type: 'object',
      additionalProperties: false,
      required: ['cniVersion', 'name', 'plugins'],
      properties: {
        cniVersion: { type: 'string' },
        cniVersions: { type: 'array', items: { type: 'string' } },
        name: { type: 'string', minLength: 1, maxLength: 128 },
        disableCheck: { type: 'boolean' },
        disableGC: { type: 'boolean' },
        plugins: {
          type: 'array',
          minItems: 1,
          maxItems: 16,
          items: {
            type: 'object',
            required: ['type'],
            properties: { type: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
    mac: { type: 'string' },
    ips: { type: 'array', maxItems: MAX_STATIC_IPS, items: { type: 'string' } },
    cniArgs: {
      type: 'object',
      maxProperties: MAX_CNI_ARGS,
      additionalProperties: { type: 'string' },
    },
    claimOverrides: {
      type: 'object',
      additionalProperties: false,
      properties: {
        interfaceName: { type: 'boolean' },
        mac: { type: 'boolean' },
        ips: { type: 'array', maxItems: 16, items: { type: 'string' } },
      },
    },
  },
} as const

let compiled: ValidateFunction | undefined
function schemaValidator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(CNI_CONFIG_SCHEMA)
  return compiled
}

/** Outcome of validating one opaque parameters object. */
export type CniConfigValidation =
  | { readonly ok: true; readonly config: CniConfig }
  | { readonly ok: false; readonly errors: readonly string[] }

/** Options of {@link validateCniConfig}. */
export interface ValidateCniConfigOptions {
  /** Field path of the parameters object, prefixed to every message. */
  readonly path?: string
  /** API group expected in `apiVersion` (the driver name). */
  readonly apiGroup?: string
}

/**
 * Validate the shape of one opaque parameters object. Collects every problem with its field path
 * instead of stopping at the first, because the user can only see them through a failed pod start.
 * What the tenant policy judges (interface names, cniArgs, network names, cniVersion values,
 * addresses) is left to the policy rules, so one malformed field does not hide them.
 */
export function validateCniConfig(
  params: unknown,
  opts: ValidateCniConfigOptions = {},
): CniConfigValidation {
  const base = opts.path ?? 'parameters'
  const apiVersion = `${opts.apiGroup ?? CNI_CONFIG_API_GROUP}/${CNI_CONFIG_VERSION}`
  const validate = schemaValidator()
  if (!validate(params)) {
    return { ok: false, errors: formatSchemaErrors(base, validate.errors ?? []) }
  }
  const cfg = params as CniConfig
  const errors: string[] = []
  if (cfg.apiVersion !== apiVersion) {
    errors.push(`${base}.apiVersion: must be "${apiVersion}", got "${cfg.apiVersion}"`)
  }
  if ((cfg.kind as string) !== CNI_CONFIG_KIND) {
    errors.push(`${base}.kind: must be "${CNI_CONFIG_KIND}", got "${cfg.kind}"`)
  }
  if (cfg.mac !== undefined) errors.push(...macProblems(cfg.mac).map(p => `${base}.mac: ${p}`))
  if (cfg.ips !== undefined) errors.push(...ipsProblems(cfg.ips, `${base}.ips`))
  if (cfg.claimOverrides?.ips !== undefined) {
    errors.push(...ipsProblems(cfg.claimOverrides.ips, `${base}.claimOverrides.ips`))
  }
  if (errors.length > 0) return { ok: false, errors }
  return { ok: true, config: cfg }
}

/** Like {@link validateCniConfig} but throws `DriverError('NDRA_OPAQUE_CONFIG')` listing all problems. */
export function parseCniConfig(params: unknown, opts: ValidateCniConfigOptions = {}): CniConfig {
  const v = validateCniConfig(params, opts)
  if (!v.ok)
    throw new DriverError('NDRA_OPAQUE_CONFIG', `invalid CNIConfig: ${v.errors.join('; ')}`)
  return v.config
}

/** Why `name` is not a valid pod interface name (empty when valid). */
export function interfaceNameProblems(name: string): string[] {
  if (!IFNAME_RE.test(name) || name.includes('/') || name.includes(':')) {
    return [
      `"${name}" is not a valid interface name: use 1-15 printable ASCII characters without "/", ":" or spaces`,
    ]
  }
  if (name === '.' || name === '..') return [`"${name}" is not a valid interface name`]
  if (RESERVED_INTERFACE_NAMES.includes(name)) {
    return [`"${name}" already exists in every pod; choose another name (e.g. net1)`]
  }
  return []
}

function macProblems(mac: string): string[] {
  if (!MAC_RE.test(mac)) return [`"${mac}" is not a MAC address like 02:00:00:00:00:01`]
  const first = parseInt(mac.slice(0, 2), 16)
  if ((first & 1) === 1) return [`"${mac}" is a multicast address; use a unicast MAC`]
  if (/^(00:){5}00$/.test(mac)) return ['the all-zero MAC is not allowed']
  return []
}

/** Parse `addr/prefix`; undefined when it is not a CIDR. */
export function parseCidr(
  cidr: string,
): { address: string; family: 4 | 6; prefix: number } | undefined {
  const slash = cidr.indexOf('/')
  if (slash < 0) return undefined
  const address = cidr.slice(0, slash)
  const prefixText = cidr.slice(slash + 1)
  const family = isIP(address)
  if (family !== 4 && family !== 6) return undefined
  if (!/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  if (prefix > (family === 4 ? 32 : 128)) return undefined
  return { address, family, prefix }
}

function ipsProblems(ips: readonly string[], path: string): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  ips.forEach((ip, i) => {
    if (parseCidr(ip) === undefined) {
      out.push(`${path}[${i}]: "${ip}" is not an address in CIDR form like 10.1.0.5/24`)
    } else if (seen.has(ip)) {
      out.push(`${path}[${i}]: "${ip}" is listed twice`)
    }
    seen.add(ip)
  })
  return out
}
