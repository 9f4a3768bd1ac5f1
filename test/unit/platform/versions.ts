// Invariant: scripts/versions.env is the one place that pins platform versions — it parses, its
// combinations are consistent (every supported pair uses a listed Kubernetes and containerd, CI's
// pairs are the oldest and the newest supported ones), no script, chart or test names a pinned
// Kubernetes/containerd/helm/runc/Node version itself, and the tests select a combination exactly as
// scripts/lib/common.sh does (newest by default, the paired containerd for a given Kubernetes).
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import {
  VERSIONS_FILE,
  parseCombinations,
  parseVersions,
  selectPlatform,
} from '../../lib/platform.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const text = readFileSync(VERSIONS_FILE, 'utf8')
const v = parseVersions(text)
const list = (k: string) => (v.get(k) ?? '').split(/\s+/).filter(s => s !== '')

t.test('versions.env is consistent', async t => {
  const supported = parseCombinations(v.get('SUPPORTED') ?? '')
  t.ok(supported.length >= 2, 'at least two supported combinations')
  for (const c of supported) {
    t.ok(list('K8S_VERSIONS').includes(c.k8s), `${c.k8s} is a listed Kubernetes version`)
    t.ok(list('CONTAINERD_VERSIONS').includes(c.containerd), `${c.containerd} is listed`)
  }
  const ci = parseCombinations(v.get('CI_COMBINATIONS') ?? '')
  t.same(ci, [supported[0], supported.at(-1)], 'CI runs the oldest and the newest combination')
  for (const k of ['RUNC_VERSION', 'HELM_VERSION', 'NODE_VERSION']) t.ok(v.get(k), `${k} is set`)
})

t.test('selection mirrors scripts/lib/common.sh', async t => {
  // A fixture with made-up versions: the real ones live only in versions.env.
  const cases: [string, Record<string, string>, string, string][] = [
    ['default = newest', {}, 'v1.92.2', '9.4.2'],
    ['paired containerd', { K8S_VERSION: 'v1.90.4' }, 'v1.90.4', '1.7'],
    ['leading v optional', { K8S_VERSION: '1.91.3' }, 'v1.91.3', '9.4.2'],
    [
      'explicit containerd',
      { K8S_VERSION: 'v1.91.3', CONTAINERD_VERSION: 'v9.4.2' },
      'v1.91.3',
      '9.4.2',
    ],
  ]
  const fixture = 'SUPPORTED=v1.90.4/1.7 v1.91.3/9.4.2 v1.92.2/9.4.2\nHELM_VERSION=v9.19.0\n'
  for (const [name, env, k8s, ctrd] of cases) {
    const p = selectPlatform(fixture, env, '/c')
    t.same([p.k8s, p.containerd], [k8s, ctrd], name)
    t.equal(p.kubectl, `/c/k8s/${k8s}/bin/kubectl`, `${name}: kubectl path`)
  }
  t.equal(selectPlatform(fixture, {}, '/c').helm, '/c/helm/v9.19.0/bin/helm')
  t.throws(() => parseVersions('no equals sign'), /not KEY=value/)
  t.throws(() => parseCombinations('v1.90.4'), /not K8S\/CONTAINERD/)
})

// Files that may carry versions: the versions file itself, lock files, docs that report results.
const SKIP = new Set(['scripts/versions.env', 'package-lock.json', 'package.json'])
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', '.git', 'docs'])

function files(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    if (SKIP_DIRS.has(name)) return []
    return statSync(p).isDirectory() ? files(p) : [p]
  })
}

t.test('no script, chart file or test pins a platform version itself', async t => {
  const pinned = [
    ...list('K8S_VERSIONS'),
    ...list('CONTAINERD_VERSIONS').filter(c => c !== '1.7'),
    v.get('RUNC_VERSION') ?? '',
    v.get('HELM_VERSION') ?? '',
    v.get('NODE_VERSION') ?? '',
  ]
  const offenders: string[] = []
  for (const dir of ['scripts', 'charts', 'test', 'hook', 'src', '.ci']) {
    for (const f of files(join(root, dir))) {
      const rel = relative(root, f)
      if (SKIP.has(rel) || rel.endsWith('.md')) continue
      const body = readFileSync(f, 'utf8')
      for (const p of pinned) {
        const bare = p.replace(/^v/, '')
        if (new RegExp(`(^|[^0-9.])v?${bare.replace(/\./g, '\\.')}($|[^0-9])`).test(body)) {
          offenders.push(`${rel}: ${p}`)
        }
      }
    }
  }
  t.same(offenders, [], 'versions live only in scripts/versions.env')
})
