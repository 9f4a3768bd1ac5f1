// Invariant: a 404 is "no such pod" (undefined: the kubelet will not start a pod that is gone),
// other API failures NDRA_KUBE_API naming the pod (prepare fails and is retried, never passes an
// unchecked claim), and an aborted read (the kubelet's deadline) rejects with the abort reason.
import t from 'tap'
import { ApiException, type CoreV1Api } from '@kubernetes/client-node'
import { KubePodReader } from '../../../src/kube/pod-reader.js'

function api(fn: () => Promise<unknown>): CoreV1Api {
  return { readNamespacedPod: fn } as unknown as CoreV1Api
}
const signal = () => new AbortController().signal

t.test('returns the pod', async t => {
  const pod = { metadata: { uid: 'u', name: 'p', namespace: 'ns' } }
  t.same(await new KubePodReader(api(async () => pod)).get('ns', 'p', signal()), pod)
})

t.test('404: undefined', async t => {
  const gone = api(async () => Promise.reject(new ApiException(404, 'not found', {}, {})))
  t.equal(await new KubePodReader(gone).get('ns', 'p', signal()), undefined)
})

const failures = [
  {
    name: '403 (RBAC without pods: get)',
    err: new ApiException(403, 'forbidden', {}, {}),
    want: { code: 'NDRA_KUBE_API', message: /^reading Pod ns\/p: / },
  },
  {
    name: 'network',
    err: new Error('ECONNREFUSED'),
    want: { code: 'NDRA_KUBE_API', message: 'reading Pod ns/p: ECONNREFUSED' },
  },
]
for (const c of failures) {
  t.test(c.name, async t => {
    await t.rejects(
      new KubePodReader(api(async () => Promise.reject(c.err))).get('ns', 'p', signal()),
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
  await t.rejects(new KubePodReader(slow).get('ns', 'p', ac.signal), {
    message: 'kubelet deadline',
  })
})
