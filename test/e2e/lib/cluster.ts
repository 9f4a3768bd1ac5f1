// Helpers for the end-to-end tests: kubectl/helm against the harness cluster, host links, polling.
// The cluster is the one scripts/cluster/up.sh started (admin kubeconfig at a fixed path).
import { execa } from 'execa'
import { PLATFORM } from '../../lib/platform.js'

export { PLATFORM }

export const KUBECONFIG =
  process.env.NDRA_KUBECONFIG ?? '/var/lib/network-dra-cluster/admin.kubeconfig'
export const KUBECTL = process.env.KUBECTL ?? PLATFORM.kubectl
export const HELM = process.env.HELM ?? PLATFORM.helm
export const REPO = new URL('../../../', import.meta.url).pathname

export async function kubectl(args: readonly string[], input?: string): Promise<string> {
  const r = await execa(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], {
    ...(input === undefined ? {} : { input }),
    timeout: 120_000,
  })
  return r.stdout
}

/** The parts of kubectl's JSON output the end-to-end tests read (everything optional the API omits). */
export interface KCondition {
  readonly type: string
  readonly status: string
}
export interface KList<T> {
  readonly items: readonly T[]
}
export interface KMeta {
  readonly metadata: { readonly name: string; readonly uid: string }
}
export interface KContainerTermination {
  readonly reason?: string
}
export interface KContainerStatus {
  readonly ready?: boolean
  readonly restartCount: number
  readonly state?: { readonly running?: object; readonly terminated?: KContainerTermination }
  readonly lastState?: { readonly terminated?: KContainerTermination }
}
export interface KPod extends KMeta {
  readonly status?: {
    readonly phase?: string
    readonly conditions?: readonly KCondition[]
    readonly containerStatuses?: readonly KContainerStatus[]
  }
}
export interface KResourceSlice extends KMeta {
  readonly spec: { readonly devices?: readonly { readonly name: string }[] }
}
export interface KClaim extends KMeta {
  readonly status?: {
    readonly devices?: readonly {
      readonly driver: string
      readonly networkData?: { readonly interfaceName?: string; readonly ips?: readonly string[] }
      readonly conditions?: readonly KCondition[]
    }[]
  }
}
export interface KEvent extends KMeta {
  readonly reason?: string
  readonly message?: string
}

/** `kubectl … -o json`, parsed; `T` names the shape the caller reads (not validated). */
export async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T
}

export async function helm(args: readonly string[]): Promise<string> {
  const r = await execa(HELM, ['--kubeconfig', KUBECONFIG, ...args], { timeout: 600_000 })
  return r.stdout
}

/** The demo manifests and their values (`examples/`), as users apply them. */
export const EXAMPLES = `${REPO}examples`

/**
 * `helm upgrade --install` of the chart as every e2e file installs it: into SYSTEM_NS, the e2e
 * values (the image built here, nothing else) first, then `valuesFiles`, then `extra`, waiting up to
 * 5 minutes for the plugin to be Ready.
 */
export function chartInstallArgs(
  release: string,
  valuesFiles: readonly string[] = [],
  extra: readonly string[] = [],
): string[] {
  return [
    'upgrade',
    '--install',
    release,
    `${REPO}charts/network-dra`,
    '-n',
    SYSTEM_NS,
    '--create-namespace',
    '-f',
    `${REPO}test/e2e/values.yaml`,
    ...valuesFiles.flatMap(f => ['-f', f]),
    ...extra,
    '--wait',
    '--timeout',
    '5m',
  ]
}

export async function sh(cmd: string, args: readonly string[]): Promise<string> {
  return (await execa(cmd, [...args], { timeout: 60_000 })).stdout
}

/** Poll `fn` until it returns a non-undefined value; throws with the last error on timeout. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < end) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await new Promise(r => setTimeout(r, 1000))
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${errorText(last)}`}`,
  )
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : JSON.stringify(err)
}

/** A veth pair in the node namespace whose both ends belong to the test; no addresses, no traffic out. */
export async function createVeth(name: string): Promise<void> {
  await execa('ip', ['link', 'del', name], { reject: false })
  await sh('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`])
  await sh('ip', ['link', 'set', name, 'up'])
  await sh('ip', ['link', 'set', `${name}p`, 'up'])
}

export async function deleteLink(name: string): Promise<void> {
  await execa('ip', ['link', 'del', name], { reject: false })
}

export async function linkExists(name: string): Promise<boolean> {
  return (await execa('ip', ['link', 'show', name], { reject: false })).exitCode === 0
}

export async function podPhase(ns: string, name: string): Promise<string | undefined> {
  const p = await kubectlJson<KPod>(['get', 'pod', '-n', ns, name])
  return p.status?.phase
}

/** IPv4 CIDR of `dev` inside the pod's container, via `kubectl exec … ip -o -4 addr show dev`. */
export async function podAddr(ns: string, pod: string, dev: string): Promise<string> {
  const out = await kubectl([
    'exec',
    '-n',
    ns,
    pod,
    '--',
    'ip',
    '-o',
    '-4',
    'addr',
    'show',
    'dev',
    dev,
  ])
  const m = /inet (\S+)/.exec(out)
  if (!m?.[1]) throw new Error(`no IPv4 address on ${dev} in ${ns}/${pod}: ${out}`)
  return m[1]
}

/** The namespace every e2e file installs the chart into, and the label of the plugin's pods. */
export const SYSTEM_NS = 'network-dra-system'
export const PLUGIN_LABEL = 'app.kubernetes.io/name=network-dra'

/**
 * Teardown of one e2e file, best effort (a failing step must not hide the test's own result):
 * its namespaces (test namespaces first, each given `nsTimeout`), its helm release, then the
 * chart's namespace, so the next file installs on a clean cluster.
 */
export async function removeInstall(
  release: string,
  namespaces: readonly string[],
  nsTimeout = '120s',
): Promise<void> {
  for (const ns of namespaces) {
    await kubectl(['delete', 'namespace', ns, '--wait=true', `--timeout=${nsTimeout}`]).catch(
      () => undefined,
    )
  }
  await helm(['uninstall', release, '-n', SYSTEM_NS, '--wait', '--timeout', '2m']).catch(
    () => undefined,
  )
  await kubectl(['delete', 'namespace', SYSTEM_NS, '--wait=true', '--timeout=60s']).catch(
    () => undefined,
  )
}

/** What a failed subtest prints: the plugin's last log lines, every event, the cluster's logs. */
export async function failureDiagnostics(tail = 80): Promise<string> {
  const plugin = await kubectl([
    'logs',
    '-n',
    SYSTEM_NS,
    '-l',
    PLUGIN_LABEL,
    `--tail=${String(tail)}`,
    '--all-containers',
  ]).catch((e: unknown) => String(e))
  const events = await kubectl(['get', 'events', '-A', '--sort-by=.lastTimestamp']).catch(
    (e: unknown) => String(e),
  )
  return `plugin logs:\n${plugin}\n\nevents:\n${events}\n\ncluster logs:\n${await clusterLogs()}`
}

export async function clusterLogs(): Promise<string> {
  const r = await execa('bash', [`${REPO}scripts/cluster/logs.sh`, '60'], { reject: false })
  return `${r.stdout}\n${r.stderr}`
}
