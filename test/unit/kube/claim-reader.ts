// Invariant: a 404 becomes NDRA_CLAIM_NOT_FOUND naming the claim, other API failures NDRA_KUBE_API,
// and an aborted read (the kubelet's deadline) rejects with the abort reason.
import t from 'tap'
import { ApiException, type ResourceV1Api } from '@kubernetes/client-node'
import { KubeClaimReader } from '../../../src/kube/claim-reader.js'

function api(fn: () => Promise<unknown>): ResourceV1Api {
  return { readNamespacedResourceClaim: fn } as unknown as ResourceV1Api
}
const signal = () => new AbortController().signal

t.test('returns the claim', async t => {
  const claim = { metadata: { uid: 'u', name: 'c', namespace: 'ns' } }
  t.same(await new KubeClaimReader(api(async () => claim)).get('ns', 'c', signal()), claim)
})

const failures = [
  {
    name: '404',
    err: new ApiException(404, 'not found', {}, {}),
    want: { code: 'NDRA_CLAIM_NOT_FOUND', message: 'ResourceClaim ns/c not found' },
  },
  {
    name: '500',
    err: new ApiException(500, 'boom', {}, {}),
    want: { code: 'NDRA_KUBE_API', message: /^reading ResourceClaim ns\/c: / },
  },
  {
    name: 'network',
    err: new Error('ECONNREFUSED'),
    want: { code: 'NDRA_KUBE_API', message: 'reading ResourceClaim ns/c: ECONNREFUSED' },
  },
]
for (const c of failures) {
  t.test(c.name, async t => {
    await t.rejects(
      new KubeClaimReader(api(async () => Promise.reject(c.err))).get('ns', 'c', signal()),
      c.want,
    )
  })
}

t.test('abort wins over a slow API', async t => {
  const ac = new AbortController()
  setTimeout(() => {
    ac.abort(new Error('kubelet deadline'))
  }, 10)
  const slow = api(
    () =>
      new Promise(r =>
        setTimeout(() => {
          r({})
        }, 500),
      ),
  )
  await t.rejects(new KubeClaimReader(slow).get('ns', 'c', ac.signal), {
    message: 'kubelet deadline',
  })
})
