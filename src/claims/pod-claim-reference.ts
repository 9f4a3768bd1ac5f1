/**
 * Does a pod's container use a claim? A pod lists claims in `spec.resourceClaims` (by
 * `resourceClaimName`, or by template, resolved in `status.resourceClaimStatuses`), and a container
 * gets a claim's CDI devices — and so our createRuntime hook — only when its `resources.claims`
 * names that entry. A claim listed only at pod level would leave the pod running without its
 * network, so prepare refuses it (rule `unreferenced-claim`). Pure; plain JSON shapes, so objects
 * from the kube client and from test tables both fit.
 */

/** A container's `resources.claims`. */
export interface ContainerV1 {
  readonly name?: string | undefined
  readonly resources?:
    { readonly claims?: readonly { readonly name?: string | undefined }[] | undefined } | undefined
}

/** The Pod fields the check reads. */
export interface PodV1 {
  readonly metadata?:
    | {
        readonly name?: string | undefined
        readonly namespace?: string | undefined
        readonly uid?: string | undefined
      }
    | undefined
  readonly spec?:
    | {
        readonly resourceClaims?:
          | readonly {
              readonly name?: string | undefined
              readonly resourceClaimName?: string | undefined
              readonly resourceClaimTemplateName?: string | undefined
            }[]
          | undefined
        readonly containers?: readonly ContainerV1[] | undefined
        readonly initContainers?: readonly ContainerV1[] | undefined
      }
    | undefined
  readonly status?:
    | {
        readonly resourceClaimStatuses?:
          | readonly {
              readonly name?: string | undefined
              readonly resourceClaimName?: string | undefined
            }[]
          | undefined
      }
    | undefined
}

/** How a pod relates to one claim. */
export interface PodClaimReference {
  /** Names of the pod's `spec.resourceClaims` entries that resolve to the claim. */
  readonly entries: readonly string[]
  /** Containers and init containers whose `resources.claims` name one of those entries. */
  readonly containers: readonly string[]
}

/** Which `spec.resourceClaims` entries of `pod` are `claimName`, and which containers use them. */
export function podClaimReference(pod: PodV1, claimName: string): PodClaimReference {
  const generated = new Map<string, string>()
  for (const s of pod.status?.resourceClaimStatuses ?? []) {
    if (s.name !== undefined && s.resourceClaimName !== undefined) {
      generated.set(s.name, s.resourceClaimName)
    }
  }
  const entries: string[] = []
  for (const rc of pod.spec?.resourceClaims ?? []) {
    if (rc.name === undefined) continue
    const resolved = rc.resourceClaimName ?? generated.get(rc.name)
    if (resolved === claimName) entries.push(rc.name)
  }
  const containers: string[] = []
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
  for (const c of all) {
    const uses = (c.resources?.claims ?? []).some(
      rc => rc.name !== undefined && entries.includes(rc.name),
    )
    if (uses) containers.push(c.name ?? '')
  }
  return { entries, containers }
}
