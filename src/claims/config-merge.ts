/**
 * Opaque configuration precedence for one claim: from `status.allocation.devices.config[]`, only
 * entries addressed to this driver count (other drivers' entries are ignored, never parsed).
 * DeviceClass entries (`FromClass`) apply first, claim entries (`FromClaim`) over them, and within
 * each source later entries over earlier ones. An entry with `requests` applies only to those
 * requests: naming `req` covers every `req/<sub>` of a prioritized list; naming `req/sub` covers
 * only that subrequest. Fields merge one by one; `network` is replaced as a whole; `cniArgs` merge
 * key by key.
 */
import type { CniConfig, NetworkConfList } from './cni-config.js'
import { validateCniConfig } from './cni-config.js'
import { claimConfigProblems, type ConfigSource, type Policy } from './policy.js'
import { mainRequestName, type DeviceAllocationConfiguration } from './resource-claim.js'

/** One parsed config entry of this driver. */
export interface ParsedConfigEntry {
  readonly index: number
  readonly source: ConfigSource
  readonly requests: readonly string[]
  readonly config: CniConfig
  /** Field path of its parameters, for messages. */
  readonly path: string
}

/** The effective configuration of one allocated request. */
export interface MergedConfig {
  readonly interfaceName?: string
  readonly network?: NetworkConfList
  /** Who provided `network` (decides which policy rules apply). */
  readonly networkSource?: ConfigSource
  /** Field path of the `network` that won. */
  readonly networkPath?: string
  readonly mac?: string
  readonly ips?: readonly string[]
  readonly cniArgs: Readonly<Record<string, string>>
}

/** Parsed entries plus what was wrong with the rest. */
export interface ParsedEntries {
  readonly entries: readonly ParsedConfigEntry[]
  /** Malformed CNIConfig objects (NDRA_OPAQUE_CONFIG). */
  readonly errors: readonly string[]
  /** Claim entries the policy does not allow (NDRA_POLICY_VIOLATION). */
  readonly policyProblems: readonly string[]
}

/** Options of {@link parseConfigEntries}. */
export interface ParseEntriesOptions {
  readonly driverName: string
  readonly policy: Policy
  /** API group of the CNIConfig (defaults to the driver name). */
  readonly apiGroup?: string
}

/**
 * Parse every entry of this driver once, in precedence order (class entries, then claim
 * entries, each in list order). Entries of other drivers are skipped.
 */
export function parseConfigEntries(
  config: readonly DeviceAllocationConfiguration[] | undefined,
  opts: ParseEntriesOptions,
): ParsedEntries {
  const entries: ParsedConfigEntry[] = []
  const errors: string[] = []
  const policyProblems: string[] = []
  ;(config ?? []).forEach((entry, index) => {
    if (entry.opaque?.driver !== opts.driverName) return
    const source: ConfigSource = entry.source === 'FromClass' ? 'class' : 'claim'
    const path = `status.allocation.devices.config[${index}].opaque.parameters`
    const v = validateCniConfig(entry.opaque.parameters, {
      path,
      apiGroup: opts.apiGroup ?? opts.driverName,
    })
    if (!v.ok) {
      errors.push(...v.errors)
      return
    }
    if (source === 'claim') policyProblems.push(...claimConfigProblems(v.config, opts.policy, path))
    entries.push({ index, source, requests: entry.requests ?? [], config: v.config, path })
  })
  const rank = (e: ParsedConfigEntry): number => (e.source === 'class' ? 0 : 1)
  entries.sort((a, b) => rank(a) - rank(b) || a.index - b.index)
  return { entries, errors, policyProblems }
}

/** Whether an entry applies to an allocation result's request (`req` or `req/sub`). */
export function entryAppliesTo(entry: ParsedConfigEntry, request: string): boolean {
  if (entry.requests.length === 0) return true
  return entry.requests.includes(request) || entry.requests.includes(mainRequestName(request))
}

/** Merge the entries that apply to `request` (already in precedence order). */
export function mergeForRequest(
  entries: readonly ParsedConfigEntry[],
  request: string,
): MergedConfig {
  let merged: {
    interfaceName?: string
    network?: NetworkConfList
    networkSource?: ConfigSource
    networkPath?: string
    mac?: string
    ips?: readonly string[]
    cniArgs: Record<string, string>
  } = { cniArgs: {} }
  for (const e of entries) {
    if (!entryAppliesTo(e, request)) continue
    const c = e.config
    if (c.interfaceName !== undefined) merged.interfaceName = c.interfaceName
    if (c.network !== undefined) {
      merged = {
        ...merged,
        network: c.network,
        networkSource: e.source,
        networkPath: `${e.path}.network`,
      }
    }
    if (c.mac !== undefined) merged.mac = c.mac
    if (c.ips !== undefined) merged.ips = c.ips
    if (c.cniArgs !== undefined) merged.cniArgs = { ...merged.cniArgs, ...c.cniArgs }
  }
  return merged
}
