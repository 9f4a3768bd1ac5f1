/**
 * The `PlanSource` of the prepare service: runs the pure plan builder with the admin policy and the
 * node's current host-interface devices, plus the prepare-time checks that need the outside world —
 * every pod reserving the claim uses it in a container (`unreferenced-claim`, always checked), and
 * the network's `cniVersion` is one the driver and its plugins support (`cni-version`, on valid
 * plans) — and turns a `DriverError` of the builder and the findings of the checks into the claim's
 * prepare error, joined by ` | ` (prefixed so the pod event says who is talking). A check that
 * cannot decide (API or plugin failure) rejects.
 */
import type { AttachmentPlan } from '../attach/attachment-plan.js'
import { buildAttachmentPlans } from '../claims/plan-builder.js'
import type { Policy } from '../claims/policy.js'
import { formatProblem, type PolicyProblem } from '../claims/policy-rules.js'
import type { ResourceClaimV1 } from '../claims/resource-claim.js'
import { DriverError } from '../errors.js'
import type { PlanSource } from './prepare-service.js'

/** The `unreferenced-claim` check (ClaimReferenceCheck satisfies it). */
export interface ReferenceCheck {
  problems(claim: ResourceClaimV1, signal: AbortSignal): Promise<PolicyProblem[]>
}

/** The `cni-version` check (CniVersionCheck satisfies it). */
export interface VersionCheck {
  problems(plans: readonly AttachmentPlan[], signal: AbortSignal): Promise<PolicyProblem[]>
}

/** Between problems in one prepare error, as `policyViolation` joins them. */
const PROBLEM_SEPARATOR = ' | '

export interface ClaimPlannerOptions {
  readonly driverName: string
  readonly nodeName: string
  readonly policy: Policy
  /** Host interface behind a published `host-…` device, from the latest inventory. */
  readonly hostInterface: (deviceName: string) => string | undefined
  readonly references: ReferenceCheck
  readonly versions: VersionCheck
}

export class ClaimPlanner implements PlanSource {
  readonly #o: ClaimPlannerOptions

  constructor(opts: ClaimPlannerOptions) {
    this.#o = opts
  }

  async plans(
    claim: ResourceClaimV1,
    signal: AbortSignal,
  ): Promise<{ readonly plans: readonly AttachmentPlan[] } | { readonly error: string }> {
    // API and plugin failures of the checks reject: prepare fails with their own code and the
    // kubelet retries; only a finding is the user's to fix. The reference check runs first and
    // whatever the config: a claim no container uses cannot work, however it is configured.
    const found = [...(await this.#o.references.problems(claim, signal))]
    let plans: AttachmentPlan[]
    try {
      plans = buildAttachmentPlans({
        claim,
        driverName: this.#o.driverName,
        nodeName: this.#o.nodeName,
        policy: this.#o.policy,
        hostInterface: this.#o.hostInterface,
      })
    } catch (err) {
      if (!(err instanceof DriverError)) throw err
      // Policy violations already read `network-dra policy [rule] …`.
      const own = err.code === 'NDRA_POLICY_VIOLATION' ? err.message : `network-dra: ${err.message}`
      return { error: [...found.map(formatProblem), own].join(PROBLEM_SEPARATOR) }
    }
    found.push(...(await this.#o.versions.problems(plans, signal)))
    if (found.length > 0) return { error: found.map(formatProblem).join(PROBLEM_SEPARATOR) }
    return { plans }
  }
}
