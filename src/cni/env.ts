/**
 * The environment a plugin process gets, built exactly like libcni's `invoke.Args.AsEnv`: the
 * runtime's own environment, then all six `CNI_*` variables (always, even when empty), later
 * values replacing earlier ones.
 */

/** The CNI commands of the execution protocol (SPEC.md §2). */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION'

/** Per-invocation values that become `CNI_*` variables. */
export interface PluginEnvArgs {
  readonly command: CniCommand
  readonly containerId: string
  readonly netns: string
  readonly ifName: string
  readonly args: readonly (readonly [string, string])[]
  readonly path: readonly string[]
}

/**
 * Join CNI args pairs as `K=V;K2=V2` (libcni `stringify`).
 * Why: plugins split on `;` and `=`, so the format must match theirs exactly.
 */
export function formatCniArgs(args: readonly (readonly [string, string])[]): string {
  return args.map(([k, v]) => `${k}=${v}`).join(';')
}

/**
 * Build the full plugin environment: `parentEnv` (entries with undefined values dropped) overlaid
 * with `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_ARGS`, `CNI_IFNAME`, `CNI_PATH`.
 * Why: skel-based plugins require some of these per command, and inheriting e.g. a stray
 * `CNI_ARGS` from the daemon's environment must never leak into a plugin run.
 */
export function buildPluginEnv(
  parentEnv: Readonly<Record<string, string | undefined>>,
  a: PluginEnvArgs,
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(parentEnv)) if (v !== undefined) env[k] = v
  env['CNI_COMMAND'] = a.command
  env['CNI_CONTAINERID'] = a.containerId
  env['CNI_NETNS'] = a.netns
  env['CNI_ARGS'] = formatCniArgs(a.args)
  env['CNI_IFNAME'] = a.ifName
  env['CNI_PATH'] = a.path.join(':')
  return env
}
