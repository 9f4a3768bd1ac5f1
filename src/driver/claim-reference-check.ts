/**
 * Fail closed for claims no container uses (rule `unreferenced-claim`). The kubelet prepares every
 * claim a pod lists in `spec.resourceClaims`, but the runtime injects a claim's CDI devices — and so
 * runs our attach hook — only into containers whose `resources.claims` name it. A claim listed only
 * at pod level would leave the pod Running without its network and without a word. At prepare, each
 * pod in `status.reservedFor` is read; if one lists the claim but none of its containers or init
 * containers uses it, the claim is refused with the fix, and a Warning Event is put on the pod.
 */
import { problem, formatProblem, type PolicyProblem } from '../claims/policy-rules.js'
import { podClaimReference } from '../claims/pod-claim-reference.js'
import type { ResourceClaimV1 } from '../claims/resource-claim.js'
import type { PodReader } from '../kube/pod-reader.js'
import type { PodRef } from '../status/pod-events.js'

/** Where refusals are told to the pod's owner (PodEventRecorder satisfies it; never throws). */
export interface UnreferencedClaimEvents {
  claimUnreferenced(pod: PodRef, message: string): Promise<void>
}

/** Options of {@link ClaimReferenceCheck}. */
export interface ClaimReferenceCheckOptions {
  readonly pods: PodReader
  readonly events: UnreferencedClaimEvents
}

/** The prepare-time check that every pod reserving the claim uses it in a container. */
export class ClaimReferenceCheck {
  readonly #o: ClaimReferenceCheckOptions

  constructor(opts: ClaimReferenceCheckOptions) {
    this.#o = opts
  }

  /**
   * One problem per reserving pod that does not use the claim in a container (empty when all do).
   * Pods that are gone, or were re-created under the same name (other UID), are skipped: the
   * kubelet will not start them. Rejects when a pod cannot be read.
   */
  async problems(claim: ResourceClaimV1, signal: AbortSignal): Promise<PolicyProblem[]> {
    const namespace = claim.metadata?.namespace ?? ''
    const claimName = claim.metadata?.name ?? ''
    const out: PolicyProblem[] = []
    for (const c of claim.status?.reservedFor ?? []) {
      if (c.resource !== 'pods' || (c.apiGroup ?? '') !== '' || c.name === undefined) continue
      const pod = await this.#o.pods.get(namespace, c.name, signal, c.uid)
      if (pod === undefined || (c.uid !== undefined && pod.metadata?.uid !== c.uid)) continue
      const ref = podClaimReference(pod, claimName)
      if (ref.containers.length > 0) continue
      const p = unreferenced(c.name, claimName, ref.entries)
      out.push(p)
      await this.#o.events.claimUnreferenced(
        { namespace, name: c.name, uid: pod.metadata?.uid ?? c.uid ?? '' },
        formatProblem(p),
      )
    }
    return out
  }
}

function unreferenced(
  podName: string,
  claimName: string,
  entries: readonly string[],
): PolicyProblem {
  if (entries.length === 0) {
    return problem(
      'unreferenced-claim',
      `pod ${podName} spec.resourceClaims`,
      `the pod reserves ResourceClaim ${claimName} but does not list it; add it to spec.resourceClaims and to resources.claims of the containers that need the interface`,
    )
  }
  const names = entries.map(e => `{name: ${e}}`).join(' or ')
  return problem(
    'unreferenced-claim',
    `pod ${podName} spec.resourceClaims[${entries.join(',')}]`,
    `ResourceClaim ${claimName} is listed in the pod's spec.resourceClaims but in no container's resources.claims, so no container would get the interface; add it to resources.claims of the containers that need the interface (${names})`,
  )
}
