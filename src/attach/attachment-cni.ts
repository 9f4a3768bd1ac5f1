/**
 * How a claim's attachment maps to CNI calls, shared by attach, detach and GC: the CNI runtime
 * seam they use, the runtime config of (claim, plan, sandbox) — CRI-style CNI_ARGS plus the
 * `NDRA_CLAIM_UID` marker GC finds our cache entries by — and the DEL of a recorded attachment,
 * which passes the network namespace only while the recorded path still is the namespace the ADD
 * ran in (a vanished or recycled path becomes an empty CNI_NETNS, as the CNI spec allows for DEL).
 */
import { parseConfList, type NetworkConfigList } from '../cni/conf.js'
import type { CniResult, RuntimeConf, ValidAttachment } from '../cni/runtime.js'
import type { AttachmentRecord, PodIdentity } from '../state/state-types.js'
import type { NetnsProbe } from './attach-netns-probe.js'
import type { AttachmentPlan } from './attachment-plan.js'

/** CNI_ARGS key that marks an attachment as ours in the libcni result cache (for GC). */
export const CLAIM_UID_CNI_ARG = 'NDRA_CLAIM_UID'

/** A libcni result-cache entry, as much of it as GC needs. */
export interface AttachCacheEntry {
  readonly containerId: string
  readonly ifName: string
  readonly networkName: string
  readonly netns?: string
  readonly cniArgs?: readonly (readonly [string, string])[]
  readonly capabilityArgs?: Readonly<Record<string, unknown>>
  /** Original conflist bytes. */
  readonly config: Uint8Array
}

/** The part of the CNI runtime attach, detach and GC use (CniRuntime satisfies it). */
export interface AttachCni {
  add(list: NetworkConfigList, rt: RuntimeConf, opts?: { signal?: AbortSignal }): Promise<CniResult>
  del(list: NetworkConfigList, rt: RuntimeConf, opts?: { signal?: AbortSignal }): Promise<void>
  gc(
    list: NetworkConfigList,
    valid: readonly ValidAttachment[],
    opts?: { signal?: AbortSignal },
  ): Promise<void>
  cachedAttachments(containerId?: string): Promise<readonly AttachCacheEntry[]>
}

/** CNI runtime config for (claim, plan, sandbox): CRI-style CNI_ARGS, then the plan's own. */
export function runtimeConf(
  claimUid: string,
  plan: AttachmentPlan,
  pod: PodIdentity,
  netns: string,
): RuntimeConf {
  const args: [string, string][] = [['IgnoreUnknown', '1']]
  const k8s: [string, string][] = [
    ['K8S_POD_NAMESPACE', pod.podNamespace],
    ['K8S_POD_NAME', pod.podName],
    ['K8S_POD_INFRA_CONTAINER_ID', pod.sandboxId],
    ['K8S_POD_UID', pod.podUid],
  ]
  for (const pair of k8s) if (pair[1] !== '') args.push(pair)
  args.push([CLAIM_UID_CNI_ARG, claimUid])
  for (const [k, v] of plan.cniArgs) args.push([k, v])
  return {
    containerId: pod.sandboxId,
    netns,
    ifName: plan.ifName,
    args,
    capabilityArgs: plan.capabilityArgs,
  }
}

/** True when the recorded netns path still is the namespace the attachment was made in. */
export async function netnsLive(probe: NetnsProbe, a: AttachmentRecord): Promise<boolean> {
  const id = await probe.identify(a.netns)
  if (id === undefined) return false
  return a.netnsId === undefined || a.netnsId === id
}

/** DEL one recorded attachment with its plan's config; the netns only while it is still live. */
export async function delAttachment(
  deps: { readonly cni: Pick<AttachCni, 'del'>; readonly probe: NetnsProbe },
  claimUid: string,
  plan: AttachmentPlan,
  a: AttachmentRecord,
  signal?: AbortSignal,
): Promise<void> {
  const list = parseConfList(plan.networkConfig)
  const netns = (await netnsLive(deps.probe, a)) ? a.netns : ''
  await deps.cni.del(list, runtimeConf(claimUid, plan, a, netns), signal ? { signal } : {})
}
