// Invariant: the node plugin's ClusterRole grants exactly the verbs the daemon's code calls. Each
// Kubernetes API call in src/ maps to the rule it needs (CALLS); a call without a mapping, a rule no
// call needs, or a needed rule missing from the rendered ClusterRole fails this test.
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { one, render, root, type Obj } from './lib/render.js'

interface Need {
  readonly apiGroup: string
  readonly resource: string
  readonly verb: string
  readonly resourceNames?: readonly string[]
}

/** @kubernetes/client-node calls (method name) → the RBAC permissions each one needs. */
const CALLS: Readonly<Record<string, readonly Need[]>> = {
  listResourceSlice: [{ apiGroup: 'resource.k8s.io', resource: 'resourceslices', verb: 'list' }],
  'Watch(/apis/resource.k8s.io/v1/resourceslices)': [
    { apiGroup: 'resource.k8s.io', resource: 'resourceslices', verb: 'watch' },
  ],
  createResourceSlice: [
    { apiGroup: 'resource.k8s.io', resource: 'resourceslices', verb: 'create' },
  ],
  replaceResourceSlice: [
    { apiGroup: 'resource.k8s.io', resource: 'resourceslices', verb: 'update' },
  ],
  deleteResourceSlice: [
    { apiGroup: 'resource.k8s.io', resource: 'resourceslices', verb: 'delete' },
  ],
  readNamespacedResourceClaim: [
    { apiGroup: 'resource.k8s.io', resource: 'resourceclaims', verb: 'get' },
  ],
  readNamespacedResourceClaimStatus: [
    { apiGroup: 'resource.k8s.io', resource: 'resourceclaims/status', verb: 'get' },
  ],
  patchNamespacedResourceClaimStatus: [
    { apiGroup: 'resource.k8s.io', resource: 'resourceclaims/status', verb: 'patch' },
    {
      apiGroup: 'resource.k8s.io',
      resource: 'resourceclaims/driver',
      verb: 'associated-node:patch',
      resourceNames: ['network-dra.dev'],
    },
  ],
  readNode: [{ apiGroup: '', resource: 'nodes', verb: 'get' }],
  readNamespacedPod: [{ apiGroup: '', resource: 'pods', verb: 'get' }],
  listNamespacedPod: [{ apiGroup: '', resource: 'pods', verb: 'list' }],
  createNamespacedEvent: [{ apiGroup: '', resource: 'events', verb: 'create' }],
}

/** Method names that look like API calls but are the project's own interfaces or node:fs/grpc. */
const NOT_KUBE = new Set([
  'readFile',
  'createEvent',
  'createInsecure',
  'listClaimUids',
  'readStatusDevices',
])

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  )
}

/** Every API call in src/, with the files that make it. */
function apiCalls(): Map<string, string[]> {
  const calls = new Map<string, string[]>()
  const add = (name: string, file: string): void => {
    calls.set(name, [...(calls.get(name) ?? []), relative(root, file)])
  }
  for (const file of sources(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(
      /\.((?:read|list|create|replace|patch|delete)[A-Z][A-Za-z]*)\(/g,
    )) {
      if (!NOT_KUBE.has(m[1] ?? '')) add(m[1] ?? '', file)
    }
    if (/new Watch\(/.test(text)) {
      const path = /SLICES_PATH = '([^']+)'/.exec(text)?.[1] ?? '<unknown path>'
      add(`Watch(${path})`, file)
    }
  }
  return calls
}

function key(n: Need): string {
  return `${n.apiGroup}|${n.resource}|${n.verb}|${(n.resourceNames ?? []).join(',')}`
}

t.test('every API call in src/ has its RBAC rule, and every rule has its call', async t => {
  const calls = apiCalls()
  t.same(
    [...calls.keys()].filter(c => CALLS[c] === undefined),
    [],
    'every API call is mapped (add the call and its rule to CALLS and the ClusterRole)',
  )
  t.same(
    Object.keys(CALLS).filter(c => !calls.has(c)),
    [],
    'every mapped call is still made (drop its rule when the code no longer needs it)',
  )
  for (const [c, files] of calls) t.comment(`${c}: ${files.join(', ')}`)
  const needed = new Set([...calls.keys()].flatMap(c => (CALLS[c] ?? []).map(key)))
  const role = one(render().objects, 'ClusterRole')
  const granted = new Set(
    (role.rules as Obj[]).flatMap(r =>
      (r.apiGroups as string[]).flatMap(g =>
        (r.resources as string[]).flatMap(res =>
          (r.verbs as string[]).map(v =>
            key({
              apiGroup: g,
              resource: res,
              verb: v,
              resourceNames: r.resourceNames as string[],
            }),
          ),
        ),
      ),
    ),
  )
  t.same([...needed].filter(n => !granted.has(n)).sort(), [], 'nothing the code needs is missing')
  t.same(
    [...granted].filter(g => !needed.has(g)).sort(),
    [],
    'nothing is granted that no code needs',
  )
})
