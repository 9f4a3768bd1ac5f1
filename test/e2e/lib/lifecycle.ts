// Helpers of the lifecycle e2e suite: a Deployment whose pods each get a claim from a template on
// the chart's admin network, per-second sampling of the pods, the plugin's container on the node,
// the node state the driver keeps (CDI specs, state file, libcni cache, host-local reservations)
// and the simulated node reboot.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import {
  PLUGIN_LABEL,
  REPO,
  SYSTEM_NS,
  kubectl,
  kubectlJson,
  type KClaim,
  type KList,
  type KPod,
} from './cluster.js'

export const DRIVER = 'network-dra.dev'
export { PLUGIN_LABEL, SYSTEM_NS }
/** The admin network the chart renders into the DeviceClass `lc.network-dra.dev`. */
export const NETWORK = 'lc'
export const MASTER = 'ndra-lc0'
export const SUBNET = '10.30.0.0/24'
const CDI_DIR = '/var/run/cdi'
const STATE_FILE = '/var/lib/network-dra/state.json'
const CNI_RESULTS = '/var/lib/cni/results'
/** host-local keeps the reservations under the network name the driver derives for an admin network. */
const HOST_LOCAL_DIR = `/var/lib/cni/networks/ndra.class.${NETWORK}`
const CTRD_SOCK = '/run/network-dra-cluster/containerd/containerd.sock'

/** Chart values adding the admin network (written to a file and passed with -f). */
export function networkValues(): string {
  return JSON.stringify({
    networks: [
      {
        name: NETWORK,
        interfaceName: 'net1',
        network: {
          cniVersion: '1.0.0',
          name: NETWORK,
          plugins: [
            {
              type: 'macvlan',
              master: MASTER,
              mode: 'bridge',
              ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]] },
            },
          ],
        },
      },
    ],
  })
}

/**
 * A Deployment of `replicas` pods, each with its own claim from a ResourceClaimTemplate of the
 * admin network. The container checks net1 before it starts its real work and exits 1 without
 * it: a pod that ever ran without its network shows up as a restart.
 */
export function deploymentManifest(name: string, replicas: number): string {
  const template = {
    apiVersion: 'resource.k8s.io/v1',
    kind: 'ResourceClaimTemplate',
    metadata: { name: `${name}-net` },
    spec: {
      spec: {
        devices: {
          requests: [{ name: 'net', exactly: { deviceClassName: `${NETWORK}.${DRIVER}` } }],
        },
      },
    },
  }
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          dnsPolicy: 'None',
          dnsConfig: { nameservers: ['127.0.0.1'] },
          terminationGracePeriodSeconds: 1,
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          resourceClaims: [{ name: 'net', resourceClaimTemplateName: `${name}-net` }],
          containers: [
            {
              name: 'main',
              image: 'localhost/network-dra-test:v1',
              imagePullPolicy: 'Never',
              command: [
                '/bin/sh',
                '-c',
                'ip link show net1 >/dev/null 2>&1 || { echo "net1 missing at start"; exit 1; }; exec sleep 36000',
              ],
              resources: { claims: [{ name: 'net' }] },
            },
          ],
        },
      },
    },
  }
  return `${JSON.stringify(template)}\n---\n${JSON.stringify(deployment)}\n`
}

export interface PodView {
  readonly name: string
  readonly uid: string
  readonly phase: string
  readonly running: boolean
  readonly restarts: number
  /**
   * A container of the pod ended other than by StartError: it ran (the start check exits 1
   * without net1). A StartError is a create that failed before the process ran (the fail-closed
   * hook refusing), which is not running without the network.
   */
  readonly ranAndEnded: boolean
  readonly deleting: boolean
  /** Name of the generated claim (pod.status.resourceClaimStatuses). */
  readonly claim: string | undefined
}

interface KPodFull extends KPod {
  readonly metadata: {
    readonly name: string
    readonly uid: string
    readonly deletionTimestamp?: string
  }
  readonly status?: KPod['status'] & {
    readonly resourceClaimStatuses?: readonly { name: string; resourceClaimName?: string }[]
  }
}

export async function pods(ns: string, app: string): Promise<PodView[]> {
  const l = await kubectlJson<KList<KPodFull>>(['get', 'pods', '-n', ns, '-l', `app=${app}`])
  return l.items.map(p => {
    const cs = p.status?.containerStatuses ?? []
    return {
      name: p.metadata.name,
      uid: p.metadata.uid,
      phase: p.status?.phase ?? '',
      running: cs.length > 0 && cs.every(c => c.state?.running !== undefined),
      restarts: cs.reduce((n, c) => n + c.restartCount, 0),
      ranAndEnded: cs.some(c =>
        [c.state?.terminated, c.lastState?.terminated].some(
          x => x !== undefined && x.reason !== 'StartError',
        ),
      ),
      deleting: p.metadata.deletionTimestamp !== undefined,
      claim: p.status?.resourceClaimStatuses?.find(s => s.name === 'net')?.resourceClaimName,
    }
  })
}

/**
 * Samples the pods every second until stopped: the most pods seen running, every pod seen with a
 * container that ran and ended (a container that started without net1 exits 1 at once), and
 * every pod seen with a restart at all (StartError included: a hook that refused).
 */
export class PodSampler {
  samples = 0
  maxRunning = 0
  readonly ranWithoutNetwork = new Set<string>()
  readonly restarted = new Set<string>()
  #stop = false
  readonly #done: Promise<void>

  constructor(ns: string, app: string) {
    this.#done = (async () => {
      while (!this.#stop) {
        const t0 = Date.now()
        try {
          const ps = await pods(ns, app)
          this.samples++
          this.maxRunning = Math.max(this.maxRunning, ps.filter(p => p.running).length)
          for (const p of ps) {
            if (p.restarts > 0) this.restarted.add(p.name)
            if (p.ranAndEnded) this.ranWithoutNetwork.add(p.name)
          }
        } catch {
          // the API server may be briefly away (reboot test); the next sample counts
        }
        await new Promise(r => setTimeout(r, Math.max(0, 1000 - (Date.now() - t0))))
      }
    })()
  }

  async stop(): Promise<void> {
    this.#stop = true
    await this.#done
  }
}

/** The plugin pods (name, uid, Ready) in the system namespace. */
export async function pluginPods(): Promise<
  { name: string; uid: string; ready: boolean; containerId: string; restarts: number }[]
> {
  const l = await kubectlJson<
    KList<
      KPod & {
        status?: { containerStatuses?: readonly { containerID?: string; restartCount: number }[] }
      }
    >
  >(['get', 'pods', '-n', SYSTEM_NS, '-l', PLUGIN_LABEL])
  return l.items.map(p => ({
    name: p.metadata.name,
    uid: p.metadata.uid,
    ready: p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True') ?? false,
    containerId: (p.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^\w+:\/\//, ''),
    restarts: p.status?.containerStatuses?.[0]?.restartCount ?? 0,
  }))
}

async function ctr(args: readonly string[]): Promise<string> {
  return (
    await execa('ctr', ['--address', CTRD_SOCK, '-n', 'k8s.io', ...args], { timeout: 60_000 })
  ).stdout
}

/** PID of a running containerd task (container or sandbox id), from `ctr task ls`. */
export async function taskPid(id: string): Promise<number> {
  const line = (await ctr(['task', 'ls'])).split('\n').find(l => l.startsWith(`${id} `))
  const pid = Number(line?.trim().split(/\s+/)[1])
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no running task ${id}`)
  return pid
}

/** SIGKILL one task (the plugin container, a sandbox's pause process, an app container). */
export async function killTask(id: string): Promise<number> {
  const pid = await taskPid(id)
  process.kill(pid, 'SIGKILL')
  return pid
}

/** Container id of the first container of a pod. */
export async function containerIdOf(ns: string, pod: string): Promise<string> {
  const p = await kubectlJson<{
    status?: { containerStatuses?: readonly { containerID?: string }[] }
  }>(['get', 'pod', '-n', ns, pod])
  return (p.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^\w+:\/\//, '')
}

interface StateDoc {
  readonly claims: Record<
    string,
    { readonly name: string; readonly attachments: readonly { sandboxId: string }[] }
  >
}

export function stateClaims(): StateDoc['claims'] {
  if (!existsSync(STATE_FILE)) return {}
  return (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StateDoc).claims
}

/** Sandbox ids recorded for a claim in the state file. */
export function sandboxesOf(claimUid: string): string[] {
  return (stateClaims()[claimUid]?.attachments ?? []).map(a => a.sandboxId)
}

/** What the driver still keeps on the node for these claims / sandboxes. */
export function leftovers(claimUids: readonly string[], sandboxIds: readonly string[]): string[] {
  const out: string[] = []
  for (const uid of claimUids) {
    if (existsSync(join(CDI_DIR, `${DRIVER}-net_${uid}.json`))) out.push(`CDI spec of ${uid}`)
  }
  const state = stateClaims()
  for (const uid of claimUids) if (state[uid] !== undefined) out.push(`state record of ${uid}`)
  const results = existsSync(CNI_RESULTS) ? readdirSync(CNI_RESULTS) : []
  for (const f of results) {
    const text = readFileSync(join(CNI_RESULTS, f), 'utf8')
    // Only the driver's entries (marked with its NDRA_CLAIM_UID CNI arg): the runtime's own
    // entries of the pod network are not ours to judge.
    if (!text.includes('NDRA_CLAIM_UID')) continue
    if (claimUids.some(u => text.includes(u)) || sandboxIds.some(s => f.includes(s))) {
      out.push(`libcni cache entry ${f}`)
    }
  }
  const reservations = existsSync(HOST_LOCAL_DIR) ? readdirSync(HOST_LOCAL_DIR) : []
  for (const f of reservations.filter(f => /^\d/.test(f))) {
    const owner = readFileSync(join(HOST_LOCAL_DIR, f), 'utf8')
    if (sandboxIds.some(s => owner.includes(s))) out.push(`host-local reservation ${f}`)
  }
  return out
}

/** host-local reservations (IP files) of the admin network. */
export function reservationCount(): number {
  return existsSync(HOST_LOCAL_DIR)
    ? readdirSync(HOST_LOCAL_DIR).filter(f => /^\d/.test(f)).length
    : 0
}

/** Claims of the namespace by name, with their UID and our networkData IPs. */
export async function claims(ns: string): Promise<Map<string, { uid: string; ips: string[] }>> {
  const l = await kubectlJson<KList<KClaim>>(['get', 'resourceclaims', '-n', ns])
  return new Map(
    l.items.map(c => [
      c.metadata.name,
      {
        uid: c.metadata.uid,
        ips: [...(c.status?.devices?.find(d => d.driver === DRIVER)?.networkData?.ips ?? [])],
      },
    ]),
  )
}

/**
 * The kubelet's own fetch of a pod's claim can race the API server's node authorizer, whose graph
 * learns the pod -> claim edge from the pod status a moment later under load ("no relationship
 * found between node ... and this object"); the kubelet retries on its next sync. It happens
 * before the driver is called at all, so it is counted and reported, not a driver failure.
 */
export function isNodeAuthorizerRace(w: string): boolean {
  return (
    w.startsWith('FailedPrepareDynamicResources:') &&
    w.includes('no relationship found between node')
  )
}

/** Warning events of the namespace, as "reason: message". */
export async function warnings(ns: string): Promise<string[]> {
  const l = await kubectlJson<KList<{ type?: string; reason?: string; message?: string }>>([
    'get',
    'events',
    '-n',
    ns,
  ])
  return l.items.filter(e => e.type === 'Warning').map(e => `${e.reason ?? ''}: ${e.message ?? ''}`)
}

/** Plugin log lines (JSON) at warn or above, of one plugin pod. */
export async function pluginWarnings(pod: string): Promise<string[]> {
  const out = await kubectl(['logs', '-n', SYSTEM_NS, pod, '-c', 'plugin']).catch(() => '')
  return out.split('\n').filter(l => {
    try {
      return (JSON.parse(l) as { level?: number }).level! >= 40
    } catch {
      return false
    }
  })
}

/**
 * Simulated node reboot: the kubelet and containerd stop, every container process and shim is
 * killed, the tmpfs state a reboot empties goes (/var/run/cdi, /run/netns, containerd's and
 * runc's state under /run/network-dra-cluster, the plugin's /run/network-dra, kubelet tmpfs
 * mounts; /run/netns stays the shared mount point the node's boot set up), then containerd and
 * the kubelet start again with their original command lines. The
 * control plane (on this single node) keeps running, as it would on another machine. Persistent
 * disk state (/var/lib/*: kubelet checkpoints, the driver's state file, libcni cache, host-local)
 * stays, as on a real reboot.
 */
export async function simulateReboot(): Promise<void> {
  const script = `
set -euo pipefail
source "${REPO}scripts/cluster/lib.sh"
ndra_setup_mode full
cmd_of() { tr '\\0' '\\n' <"/proc/$(cat "$PIDS/$1.pid")/cmdline"; }
mapfile -t KUBELET_CMD < <(cmd_of kubelet)
mapfile -t CTRD_CMD < <(cmd_of containerd)
shims=()
for f in "$CTRD_STATE"/io.containerd.runtime.v2.task/*/*/init.pid; do
  [[ -f $f ]] || continue
  p="$(cat "$f")"
  [[ -r /proc/$p/stat ]] && shims+=("$(awk '{print $4}' "/proc/$p/stat")")
done
ndra_stop kubelet 15
ndra_stop containerd 15
ndra_clean_cgroups
for p in "\${shims[@]}"; do
  [[ -r /proc/$p/cmdline ]] || continue
  tr '\\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "$CTRD_SOCK" && kill -KILL "$p" 2>/dev/null || true
done
# Pod network namespaces go; /run/netns itself stays the shared mount the node set up at boot
# (containerd refuses HostToContainer mounts from a private one).
findmnt -rn -o TARGET | grep '^/run/netns/' | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
ndra_unmount_under "$RUNDIR" "$KUBELET_ROOT/pods"
rm -rf /run/netns/* /var/run/cdi/* "$RUNDIR" /run/network-dra
mkdir -p "$RUNDIR" "$CTRD_STATE"
ndra_start containerd "\${CTRD_CMD[@]}"
ndra_wait "containerd socket" 60 ctr --address "$CTRD_SOCK" version
ndra_start kubelet "\${KUBELET_CMD[@]}"
`
  await execa('bash', ['-c', script], { timeout: 300_000, stdio: 'inherit' })
}
