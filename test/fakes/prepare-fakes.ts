// Hand-written fakes for the prepare service's seams: they record what they received and return
// preset values (no mocking library). The claim records are never faked: tests use the real
// ClaimLedger on a temporary directory.
import type { AttachmentPlan } from '../../src/attach/attachment-plan.js'
import type { ResourceClaimV1 } from '../../src/claims/resource-claim.js'
import type {
  ClaimDetacher,
  ClaimReader,
  PlanSource,
  PrepareSpecs,
} from '../../src/driver/prepare-service.js'

export class FakeClaimReader implements ClaimReader {
  readonly gets: string[] = []
  constructor(readonly claims: Record<string, ResourceClaimV1 | Error>) {}
  async get(namespace: string, name: string): Promise<ResourceClaimV1> {
    this.gets.push(`${namespace}/${name}`)
    await new Promise(r => setTimeout(r, 5))
    const c = this.claims[`${namespace}/${name}`]
    if (c === undefined) throw new Error(`resourceclaims "${name}" not found`)
    if (c instanceof Error) throw c
    return c
  }
}

export class FakePlanner implements PlanSource {
  constructor(readonly byUid: Record<string, readonly AttachmentPlan[] | string>) {}
  async plans(claim: ResourceClaimV1) {
    const p = this.byUid[claim.metadata?.uid ?? '']
    if (p === undefined) return { error: 'no plan' }
    return typeof p === 'string' ? { error: p } : { plans: p }
  }
}

export class FakeSpecs implements PrepareSpecs {
  readonly files = new Set<string>()
  readonly writes: string[] = []
  readonly removes: string[] = []
  deviceId(uid: string, device: string) {
    return `network-dra.dev/net=${uid}-${device}`
  }
  async write(uid: string, devices: readonly { device: string }[]) {
    this.writes.push(uid)
    this.files.add(uid)
    return devices.map(d => this.deviceId(uid, d.device))
  }
  async remove(uid: string) {
    this.removes.push(uid)
    this.files.delete(uid)
  }
  async exists(uid: string) {
    return this.files.has(uid)
  }
}

export class FakeDetacher implements ClaimDetacher {
  readonly detached: string[] = []
  fail: Error | undefined
  async detachClaim(uid: string) {
    if (this.fail) throw this.fail
    this.detached.push(uid)
  }
}
