// Invariant: a 404 is "no such pod" (undefined: the kubelet will not start a pod that is gone),
// other API failures NDRA_KUBE_API naming the pod (prepare fails and is retried, never passes an
// unchecked claim), and an aborted read (the kubelet's deadline) rejects with the abort reason.
// With the pod's UID, the API server's watch cache (LIST of the name at resourceVersion 0) answers
// when it holds that very pod; anything else falls back to the quorum GET, which decides.
import t from 'tap'
import { ApiException, type CoreV1Api } from '@kubernetes/client-node'
import { KubePodReader } from '../../../src/kube/pod-reader.js'

function api(fn: () => Promise<unknown>, list?: (req: unknown) => Promise<unknown>): CoreV1Api {
  return {
    readNamespacedPod: fn,
    listNamespacedPod: list ?? (async () => ({ items: [] })),
  } as unknown as CoreV1Api
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

const cached = { metadata: { uid: 'u1', name: 'p', namespace: 'ns' }, spec: { from: 'cache' } }
const fresh = { metadata: { uid: 'u1', name: 'p', namespace: 'ns' }, spec: { from: 'etcd' } }
const cacheCases: {
  name: string
  uid?: string
  list: () => Promise<unknown>
  want: unknown
  sources: string[]
  lists: number
}[] = [
  {
    name: 'the cache holds the pod with the UID: no quorum read',
    uid: 'u1',
    list: async () => ({ items: [cached] }),
    want: cached,
    sources: ['cache'],
    lists: 1,
  },
  {
    name: 'not in the cache yet: quorum read',
    uid: 'u1',
    list: async () => ({ items: [] }),
    want: fresh,
    sources: ['quorum'],
    lists: 1,
  },
  {
    name: 'the cache holds an older pod of that name (other UID): quorum read',
    uid: 'u1',
    list: async () => ({ items: [{ ...cached, metadata: { ...cached.metadata, uid: 'old' } }] }),
    want: fresh,
    sources: ['quorum'],
    lists: 1,
  },
  {
    name: 'the list is refused (RBAC without pods: list): quorum read',
    uid: 'u1',
    list: () => Promise.reject(new ApiException(403, 'forbidden', {}, {})),
    want: fresh,
    sources: ['quorum'],
    lists: 1,
  },
  {
    name: 'no UID to compare: quorum read only',
    list: async () => ({ items: [cached] }),
    want: fresh,
    sources: ['quorum'],
    lists: 0,
  },
]
for (const c of cacheCases) {
  t.test(c.name, async t => {
    const requests: unknown[] = []
    const sources: string[] = []
    const reader = new KubePodReader(
      api(
        async () => fresh,
        async req => {
          requests.push(req)
          return c.list()
        },
      ),
      s => sources.push(s),
    )
    t.same(await reader.get('ns', 'p', signal(), c.uid), c.want)
    t.same(sources, c.sources)
    t.equal(requests.length, c.lists)
    if (c.lists > 0) {
      t.same(requests[0], {
        namespace: 'ns',
        fieldSelector: 'metadata.name=p',
        resourceVersion: '0',
      })
    }
  })
}

t.test('abort during the cache read rejects (no quorum read after the deadline)', async t => {
  const ac = new AbortController()
  let gets = 0
  const reader = new KubePodReader(
    api(
      async () => {
        gets++
        return fresh
      },
      () =>
        new Promise(r => {
          setTimeout(() => {
            r({ items: [] })
          }, 500)
        }),
    ),
  )
  setTimeout(() => {
    ac.abort(new Error('kubelet deadline'))
  }, 10)
  await t.rejects(reader.get('ns', 'p', ac.signal, 'u1'), { message: 'kubelet deadline' })
  t.equal(gets, 0)
})
