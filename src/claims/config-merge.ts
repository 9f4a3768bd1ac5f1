/**
 * Opaque configuration precedence for one claim: from `status.allocation.devices.config[]`, only
 * entries addressed to this driver count (other drivers' entries are ignored, never parsed).
 * DeviceClass entries (`FromClass`) apply first, claim entries (`FromClaim`) over them, and within
 * each source later entries over earlier ones. An entry with `requests` applies only to those
 * requests: naming `req` covers every `req/<sub>` of a prioritized list; naming `req/sub` covers
 * only that subrequest. Fields merge one by one; `network` is replaced as a whole; `cniArgs` merge
 * key by key.
 */
import { claimEntryProblems, type ClaimContext } from './claim-rules.js'
import type { ClaimOverrides, CniConfig, NetworkConfList } from './cni-config.js'
import { validateCniConfig } from './cni-config.js'
import { keyProblems, limitProblem } from './json-keys.js'
import type { ConfigSource, Policy } from './policy.js'
import type { PolicyProblem } from './policy-rules.js'
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
  /** claimOverrides of the DeviceClass entry that provided `network` (admin networks only). */
  readonly claimOverrides?: ClaimOverrides
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
  readonly policyProblems: readonly PolicyProblem[]
  /** `requests` of entries dropped as malformed or over a limit ([] = every request). */
  readonly dropped: readonly (readonly string[])[]
}

/** Options of {@link parseConfigEntries}. */
export interface ParseEntriesOptions {
  readonly driverName: string
  readonly policy: Policy
  /** API group of the CNIConfig (defaults to the driver name). */
  readonly apiGroup?: string
  /** The claim's namespace and whether it may write raw networks. */
  readonly claim: ClaimContext
}

/**
 * Parse every entry of this driver once, in precedence order (class entries, then claim
 * entries, each in list order). Entries of other drivers are skipped. A claim entry is first
 * measured against policy.limits (an entry over a limit is not looked at further), then its
 * network's keys are judged as the plugins read them, then its shape, then the entry rules.
 */
export function parseConfigEntries(
  config: readonly DeviceAllocationConfiguration[] | undefined,
  opts: ParseEntriesOptions,
): ParsedEntries {
  const entries: ParsedConfigEntry[] = []
  const errors: string[] = []
  const policyProblems: PolicyProblem[] = []
  const dropped: (readonly string[])[] = []
  ;(config ?? []).forEach((entry, index) => {
    if (entry.opaque?.driver !== opts.driverName) return
    const source: ConfigSource = entry.source === 'FromClass' ? 'class' : 'claim'
    const path = `status.allocation.devices.config[${index}].opaque.parameters`
    const params = entry.opaque.parameters
    if (source === 'claim') {
      const over = limitProblem(params, path, opts.policy.limits)
      if (over !== undefined) {
        policyProblems.push(over)
        dropped.push(entry.requests ?? [])
        return
      }
      const network = (params as Record<string, unknown> | null)?.['network']
      if (typeof network === 'object' && network !== null) {
        policyProblems.push(...keyProblems(network, `${path}.network`, opts.policy.forbiddenKeys))
      }
    }
    const v = validateCniConfig(params, {
      path,
      apiGroup: opts.apiGroup ?? opts.driverName,
    })
    if (!v.ok) {
      errors.push(...v.errors)
      dropped.push(entry.requests ?? [])
      return
    }
    if (source === 'claim') {
      policyProblems.push(...claimEntryProblems(v.config, path, opts.policy, opts.claim))
    }
    entries.push({ index, source, requests: entry.requests ?? [], config: v.config, path })
  })
  const rank = (e: ParsedConfigEntry): number => (e.source === 'class' ? 0 : 1)
  entries.sort((a, b) => rank(a) - rank(b) || a.index - b.index)
  return { entries, errors, policyProblems, dropped }
}

/** Whether an entry applies to an allocation result's request (`req` or `req/sub`). */
export function entryAppliesTo(
  entry: { readonly requests: readonly string[] },
  request: string,
): boolean {
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
    claimOverrides?: ClaimOverrides
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
      // Overrides belong to the admin network that set them; a later network drops them.
      if (e.source === 'class' && c.claimOverrides !== undefined) {
        merged.claimOverrides = c.claimOverrides
      } else {
        delete merged.claimOverrides
      }
    }
    if (c.mac !== undefined) merged.mac = c.mac
    if (c.ips !== undefined) merged.ips = c.ips
    if (c.cniArgs !== undefined) merged.cniArgs = { ...merged.cniArgs, ...c.cniArgs }
  }
  return merged
}
