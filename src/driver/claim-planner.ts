/**
 * The `PlanSource` of the prepare service: runs the pure plan builder with the admin policy and the
 * node's current host-interface devices, and turns a `DriverError` meant for the user into the
 * claim's prepare error (prefixed so the pod event says who is talking).
 */
import type { AttachmentPlan } from '../attach/attachment-plan.js'
import { buildAttachmentPlans } from '../claims/plan-builder.js'
import type { Policy } from '../claims/policy.js'
import type { ResourceClaimV1 } from '../claims/resource-claim.js'
import { DriverError } from '../errors.js'
import type { PlanSource } from './prepare-service.js'

export interface ClaimPlannerOptions {
  readonly driverName: string
  readonly nodeName: string
  readonly policy: Policy
  /** Host interface behind a published `host-…` device, from the latest inventory. */
  readonly hostInterface: (deviceName: string) => string | undefined
}

export class ClaimPlanner implements PlanSource {
  readonly #o: ClaimPlannerOptions

  constructor(opts: ClaimPlannerOptions) {
    this.#o = opts
  }

  plans(
    claim: ResourceClaimV1,
  ): { readonly plans: readonly AttachmentPlan[] } | { readonly error: string } {
    try {
      return {
        plans: buildAttachmentPlans({
          claim,
          driverName: this.#o.driverName,
          nodeName: this.#o.nodeName,
          policy: this.#o.policy,
          hostInterface: this.#o.hostInterface,
        }),
      }
    } catch (err) {
      if (err instanceof DriverError) return { error: `network-dra: ${err.message}` }
      throw err
    }
  }
}
