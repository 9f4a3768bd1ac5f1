// The platform the tests run against, read from scripts/versions.env (the one file that pins every
// version; scripts/lib/common.sh reads the same file): K8S_VERSION / CONTAINERD_VERSION pick a
// supported combination (default: the newest, the last of SUPPORTED), and the cached binaries'
// paths follow from the versions, as in the scripts.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const VERSIONS_FILE = fileURLToPath(new URL('../../scripts/versions.env', import.meta.url))

/** `KEY=value` lines of versions.env (comments and blank lines skipped, no expansion). */
export function parseVersions(text: string): ReadonlyMap<string, string> {
  const out = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) throw new Error(`versions.env: not KEY=value: ${line}`)
    out.set(line.slice(0, eq), line.slice(eq + 1))
  }
  return out
}

/** One supported Kubernetes × containerd combination. */
export interface Combination {
  readonly k8s: string
  readonly containerd: string
}

export interface Platform extends Combination {
  readonly versions: ReadonlyMap<string, string>
  readonly supported: readonly Combination[]
  /** Kubernetes minor: MINOR of v1.MINOR.PATCH. */
  readonly minor: number
  readonly kubectl: string
  readonly kubeApiserver: string
  readonly helm: string
}

function get(v: ReadonlyMap<string, string>, key: string): string {
  const value = v.get(key)
  if (value === undefined) throw new Error(`versions.env has no ${key}`)
  return value
}

/** Parse a space-separated list of `<k8s tag>/<containerd version>` pairs. */
export function parseCombinations(list: string): Combination[] {
  return list
    .split(/\s+/)
    .filter(s => s !== '')
    .map(s => {
      const [k8s, containerd] = s.split('/')
      if (!k8s || !containerd) throw new Error(`not K8S/CONTAINERD: ${s}`)
      return { k8s, containerd }
    })
}

/**
 * The selected platform: `env.K8S_VERSION` (default the newest supported) and
 * `env.CONTAINERD_VERSION` (default the one paired with it), as scripts/lib/common.sh selects them.
 */
export function selectPlatform(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  cacheRoot = '/var/cache/network-dra',
): Platform {
  const versions = parseVersions(text)
  const supported = parseCombinations(get(versions, 'SUPPORTED'))
  const newest = supported.at(-1)
  if (newest === undefined) throw new Error('versions.env: SUPPORTED is empty')
  const wantK8s = env['K8S_VERSION']
  const k8s = wantK8s ? `v${wantK8s.replace(/^v/, '')}` : newest.k8s
  const wantCtrd = env['CONTAINERD_VERSION']
  const containerd = wantCtrd
    ? wantCtrd.replace(/^v/, '')
    : (supported.find(c => c.k8s === k8s)?.containerd ?? newest.containerd)
  const minor = Number(k8s.split('.')[1])
  const bin = `${cacheRoot}/k8s/${k8s}/bin`
  return {
    k8s,
    containerd,
    versions,
    supported,
    minor,
    kubectl: `${bin}/kubectl`,
    kubeApiserver: `${bin}/kube-apiserver`,
    helm: `${cacheRoot}/helm/${get(versions, 'HELM_VERSION')}/bin/helm`,
  }
}

/** The platform of this test run (versions.env + the process environment). */
export const PLATFORM: Platform = selectPlatform(readFileSync(VERSIONS_FILE, 'utf8'), process.env)
