/**
 * What goes on a plugin's stdin: the plugin object with the list's `name` and `cniVersion` forced,
 * `prevResult` when there is one, and `runtimeConfig` holding only the capability args the plugin
 * declared (libcni `buildOneConfig` / `injectRuntimeConfig` / `InjectConf`). Encoded as Go would
 * re-marshal the map (sorted keys), so a plugin sees the same bytes libcni would send.
 */
import type { PluginConf } from './conf.js'
import { goJsonMarshal } from './go-json.js'

/** Inputs for one ADD/CHECK/DEL stdin document. */
export interface PluginStdinInput {
  readonly networkName: string
  readonly cniVersion: string
  readonly plugin: PluginConf
  readonly prevResult?: Readonly<Record<string, unknown>> | undefined
  readonly capabilityArgs: Readonly<Record<string, unknown>>
}

/**
 * The capability args this plugin declared with `capabilities: {cap: true}` and the runtime
 * supplied. Why: the spec forbids passing undeclared capabilities.
 */
export function filterRuntimeConfig(
  plugin: PluginConf,
  capabilityArgs: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const caps = plugin.raw['capabilities']
  const rc: Record<string, unknown> = {}
  if (typeof caps !== 'object' || caps === null) return rc
  for (const [cap, supported] of Object.entries(caps as Record<string, unknown>)) {
    if (supported !== true) continue
    if (Object.hasOwn(capabilityArgs, cap)) rc[cap] = capabilityArgs[cap]
  }
  return rc
}

/** Build the stdin object for ADD, CHECK and DEL. Why: one place owns libcni's injection rules. */
export function buildPluginStdin(input: PluginStdinInput): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...input.plugin.raw }
  conf['name'] = input.networkName
  conf['cniVersion'] = input.cniVersion
  if (input.prevResult !== undefined) conf['prevResult'] = input.prevResult
  const rc = filterRuntimeConfig(input.plugin, input.capabilityArgs)
  if (Object.keys(rc).length > 0) conf['runtimeConfig'] = rc
  return conf
}

/**
 * Build the stdin object for GC and STATUS: only `name`, `cniVersion` and the given extra keys
 * (GC's valid-attachment lists). No `prevResult`, no `runtimeConfig`.
 */
export function buildPlainStdin(
  networkName: string,
  cniVersion: string,
  plugin: PluginConf,
  extra: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return { ...plugin.raw, ...extra, name: networkName, cniVersion }
}

/** Encode a stdin object to bytes as Go's `json.Marshal` of a map would. */
export function encodeStdin(conf: Readonly<Record<string, unknown>>): Uint8Array {
  return new TextEncoder().encode(goJsonMarshal(conf))
}
