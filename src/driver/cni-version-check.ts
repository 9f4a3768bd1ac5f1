/**
 * The prepare-time `cniVersion` check (rule `cni-version`): the version libcni will select for a
 * plan's network must be one every plugin of the network (and its IPAM plugin) lists in its VERSION
 * answer. The plan builder has already refused versions the driver does not implement
 * (network-rules.ts `cniVersionProblems`); this is the half that needs the node's binaries. Without
 * it, a version newer than the node's plugins passes prepare and fails only at container start.
 */
import type { AttachmentPlan } from '../attach/attachment-plan.js'
import { problem, type PolicyProblem } from '../claims/policy-rules.js'
import { parseConfList } from '../cni/conf.js'
import type { PluginVersionInfo } from '../cni/plugin-versions.js'

/** Answers which versions a plugin binary supports (PluginVersions satisfies it). */
export interface PluginVersionSource {
  of(pluginType: string, signal?: AbortSignal): Promise<PluginVersionInfo>
}

/** Options of {@link CniVersionCheck}. */
export interface CniVersionCheckOptions {
  readonly versions: PluginVersionSource
}

/** Checks the networks of a claim's plans against the versions their plugins support. */
export class CniVersionCheck {
  readonly #versions: PluginVersionSource

  constructor(opts: CniVersionCheckOptions) {
    this.#versions = opts.versions
  }

  /**
   * One problem per plan whose network version is unsupported (empty when all are fine). Rejects
   * when a plugin is missing or does not answer VERSION: the claim cannot work either way.
   */
  async problems(plans: readonly AttachmentPlan[], signal?: AbortSignal): Promise<PolicyProblem[]> {
    const out: PolicyProblem[] = []
    for (const plan of plans) {
      const list = parseConfList(plan.networkConfig)
      const at = `request "${plan.request}" (device ${plan.device}) network.cniVersion`
      const v = list.cniVersion
      for (const type of pluginTypes(list.plugins.map(p => p.raw))) {
        const info = await this.#versions.of(type, signal)
        if (info.supportedVersions.includes(v)) continue
        out.push(
          problem(
            'cni-version',
            at,
            `"${v}" is not supported by plugin "${type}" (${info.path} supports ${info.supportedVersions.join(', ')})`,
          ),
        )
        break
      }
    }
    return out
  }
}

/** Every binary a network runs: each plugin's `type`, then its IPAM `type`, each once. */
function pluginTypes(plugins: readonly Readonly<Record<string, unknown>>[]): string[] {
  const types: string[] = []
  for (const p of plugins) {
    const t = p['type']
    if (typeof t === 'string') types.push(t)
    const ipam = p['ipam']
    if (typeof ipam === 'object' && ipam !== null && !Array.isArray(ipam)) {
      const it = (ipam as Record<string, unknown>)['type']
      if (typeof it === 'string' && it !== '') types.push(it)
    }
  }
  return [...new Set(types)]
}
