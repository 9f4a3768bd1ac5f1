// Invariant: every pod in the claim's reservedFor that lists the claim but uses it in no container
// gives one `unreferenced-claim` problem naming the pod, the claim and the fix, and one Warning Event
// on that pod with the same text; pods that use it, are gone, were re-created (other UID) or are not
// pods give nothing; a pod that cannot be read rejects the check.
import t from 'tap'
import { formatProblem } from '../../../src/claims/policy-rules.js'
import type { PodV1 } from '../../../src/claims/pod-claim-reference.js'
import type { ResourceClaimV1 } from '../../../src/claims/resource-claim.js'
import { ClaimReferenceCheck } from '../../../src/driver/claim-reference-check.js'
import { DriverError } from '../../../src/errors.js'
import type { PodReader } from '../../../src/kube/pod-reader.js'
import type { PodRef } from '../../../src/status/pod-events.js'

class FakePods implements PodReader {
  readonly gets: string[] = []
  constructor(readonly pods: Record<string, PodV1 | Error>) {}
  async get(namespace: string, name: string) {
    this.gets.push(`${namespace}/${name}`)
    const p = this.pods[name]
    if (p instanceof Error) throw p
    return p
  }
}
class FakeEvents {
  readonly posted: { pod: PodRef; message: string }[] = []
  async claimUnreferenced(pod: PodRef, message: string) {
    this.posted.push({ pod, message })
  }
}

const pod = (name: string, uid: string, containerClaims: string[]): PodV1 => ({
  metadata: { name, namespace: 'ns', uid },
  spec: {
    resourceClaims: [{ name: 'net', resourceClaimName: 'c' }],
    containers: [{ name: 'app', resources: { claims: containerClaims.map(n => ({ name: n })) } }],
  },
})
const claim = (
  reservedFor: NonNullable<ResourceClaimV1['status']>['reservedFor'],
): ResourceClaimV1 => ({
  metadata: { name: 'c', namespace: 'ns', uid: 'cu' },
  status: { reservedFor },
})
const signal = new AbortController().signal

t.test(
  'a pod that lists the claim only in spec.resourceClaims is refused, with an Event',
  async t => {
    const pods = new FakePods({ p: pod('p', 'pu', []) })
    const events = new FakeEvents()
    const check = new ClaimReferenceCheck({ pods, events })
    const problems = await check.problems(
      claim([{ resource: 'pods', name: 'p', uid: 'pu' }]),
      signal,
    )
    t.equal(problems.length, 1)
    const text = formatProblem(problems[0]!)
    t.match(
      text,
      /^network-dra policy \[unreferenced-claim\] pod p spec\.resourceClaims\[net\]: ResourceClaim c is listed in the pod's spec\.resourceClaims but in no container's resources\.claims/,
    )
    t.match(
      text,
      /add it to resources\.claims of the containers that need the interface \(\{name: net\}\)/,
    )
    t.same(events.posted, [{ pod: { namespace: 'ns', name: 'p', uid: 'pu' }, message: text }])
    t.same(pods.gets, ['ns/p'])
  },
)

const quiet: {
  name: string
  reservedFor: NonNullable<ResourceClaimV1['status']>['reservedFor']
  pods: Record<string, PodV1>
}[] = [
  {
    name: 'a container uses the claim',
    reservedFor: [{ resource: 'pods', name: 'p', uid: 'pu' }],
    pods: { p: pod('p', 'pu', ['net']) },
  },
  { name: 'the pod is gone', reservedFor: [{ resource: 'pods', name: 'p', uid: 'pu' }], pods: {} },
  {
    name: 'the pod was re-created under the same name',
    reservedFor: [{ resource: 'pods', name: 'p', uid: 'old' }],
    pods: { p: pod('p', 'new', []) },
  },
  {
    name: 'the consumer is not a pod',
    reservedFor: [{ apiGroup: 'example.com', resource: 'pods', name: 'p', uid: 'pu' }],
    pods: { p: pod('p', 'pu', []) },
  },
  { name: 'nothing reserves the claim', reservedFor: undefined, pods: {} },
]
for (const c of quiet) {
  t.test(`no problem: ${c.name}`, async t => {
    const events = new FakeEvents()
    const check = new ClaimReferenceCheck({ pods: new FakePods(c.pods), events })
    t.same(await check.problems(claim(c.reservedFor), signal), [])
    t.same(events.posted, [])
  })
}

t.test('a pod that reserves the claim without listing it is refused too', async t => {
  const stray: PodV1 = {
    metadata: { name: 'q', namespace: 'ns', uid: 'qu' },
    spec: { containers: [] },
  }
  const events = new FakeEvents()
  const check = new ClaimReferenceCheck({ pods: new FakePods({ q: stray }), events })
  const problems = await check.problems(claim([{ resource: 'pods', name: 'q', uid: 'qu' }]), signal)
  t.match(problems, [{ rule: 'unreferenced-claim', path: 'pod q spec.resourceClaims' }])
  t.equal(events.posted.length, 1)
})

t.test('one problem per offending pod, in reservedFor order', async t => {
  const pods = new FakePods({
    a: pod('a', 'au', []),
    b: pod('b', 'bu', ['net']),
    c: pod('c', 'cu2', []),
  })
  const check = new ClaimReferenceCheck({ pods, events: new FakeEvents() })
  const problems = await check.problems(
    claim([
      { resource: 'pods', name: 'a', uid: 'au' },
      { resource: 'pods', name: 'b', uid: 'bu' },
      { resource: 'pods', name: 'c', uid: 'cu2' },
    ]),
    signal,
  )
  t.same(
    problems.map(p => p.path),
    ['pod a spec.resourceClaims[net]', 'pod c spec.resourceClaims[net]'],
  )
})

t.test('a pod that cannot be read rejects (prepare fails and the kubelet retries)', async t => {
  const fail = new DriverError('NDRA_KUBE_API', 'reading Pod ns/p: 403 forbidden')
  const check = new ClaimReferenceCheck({
    pods: new FakePods({ p: fail }),
    events: new FakeEvents(),
  })
  await t.rejects(check.problems(claim([{ resource: 'pods', name: 'p', uid: 'pu' }]), signal), fail)
})
