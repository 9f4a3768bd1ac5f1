// Invariant: a pod's spec.resourceClaims entries are matched to a claim by resourceClaimName or,
// for templates, by status.resourceClaimStatuses; a container (or init container) uses the claim
// only when its resources.claims names one of those entries.
import t from 'tap'
import { podClaimReference, type PodV1 } from '../../../src/claims/pod-claim-reference.js'

const pod = (spec: PodV1['spec'], status?: PodV1['status']): PodV1 => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec,
  ...(status ? { status } : {}),
})
const uses = (name: string, ...claims: string[]) => ({
  name,
  resources: { claims: claims.map(c => ({ name: c })) },
})

const cases: { name: string; pod: PodV1; entries: string[]; containers: string[] }[] = [
  {
    name: 'claim listed only at pod level',
    pod: pod({
      resourceClaims: [{ name: 'net', resourceClaimName: 'c' }],
      containers: [uses('a')],
    }),
    entries: ['net'],
    containers: [],
  },
  {
    name: 'a container uses it',
    pod: pod({
      resourceClaims: [{ name: 'net', resourceClaimName: 'c' }],
      containers: [uses('a'), uses('b', 'net')],
    }),
    entries: ['net'],
    containers: ['b'],
  },
  {
    name: 'an init container uses it',
    pod: pod({
      resourceClaims: [{ name: 'net', resourceClaimName: 'c' }],
      initContainers: [uses('init', 'net')],
      containers: [uses('a')],
    }),
    entries: ['net'],
    containers: ['init'],
  },
  {
    name: 'a container uses another claim of the pod',
    pod: pod({
      resourceClaims: [
        { name: 'net', resourceClaimName: 'c' },
        { name: 'gpu', resourceClaimName: 'g' },
      ],
      containers: [uses('a', 'gpu')],
    }),
    entries: ['net'],
    containers: [],
  },
  {
    name: 'template entry resolved through the status',
    pod: pod(
      {
        resourceClaims: [{ name: 'net', resourceClaimTemplateName: 't' }],
        containers: [uses('a', 'net')],
      },
      { resourceClaimStatuses: [{ name: 'net', resourceClaimName: 'p-net-x7' }] },
    ),
    entries: ['net'],
    containers: ['a'],
  },
  {
    name: 'template entry not resolved yet: not this claim',
    pod: pod({
      resourceClaims: [{ name: 'net', resourceClaimTemplateName: 't' }],
      containers: [uses('a', 'net')],
    }),
    entries: [],
    containers: [],
  },
  {
    name: 'the pod does not list the claim',
    pod: pod({ containers: [uses('a', 'net')] }),
    entries: [],
    containers: [],
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const claim = c.name.startsWith('template') ? 'p-net-x7' : 'c'
    t.same(podClaimReference(c.pod, claim), { entries: c.entries, containers: c.containers })
  })
}
