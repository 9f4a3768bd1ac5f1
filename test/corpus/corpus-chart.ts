/**
 * What the chart gives the daemon for the hostile corpus: `helm template` with the chart's default
 * values plus CORPUS_VALUES, read back as the policy file (the ConfigMap's JSON) and the admin
 * networks' DeviceClass parameters; and a corpus case's allocation config entries as the scheduler
 * would copy them into the claim's status. Shared by the unit tier (planner) and the integration
 * tier (the real daemon).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { parsePolicy, type Policy } from '../../src/claims/policy.js'
import type { DeviceAllocationConfiguration } from '../../src/claims/resource-claim.js'
import { CORPUS_VALUES, type BenignCase } from './hostile-claims.js'
import { PLATFORM } from '../lib/platform.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CHART = join(ROOT, 'charts', 'network-dra')
/** helm as scripts/build/k8s.sh builds it; `HELM` overrides. */
export const HELM = process.env['HELM'] ?? PLATFORM.helm

// Rendered manifests are untyped JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

/** The chart's output the daemon consumes. */
export interface RenderedCorpusChart {
  /** The policy file as the ConfigMap carries it (what --policy-file reads). */
  readonly policyJson: string
  readonly policy: Policy
  /** Admin network name → its DeviceClass opaque parameters. */
  readonly classParams: ReadonlyMap<string, unknown>
}

/** Render the chart as an install with CORPUS_VALUES would. Throws when helm fails. */
export function renderCorpusChart(helm = HELM): RenderedCorpusChart {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-corpus-'))
  try {
    const values = join(dir, 'values.json')
    writeFileSync(values, JSON.stringify(CORPUS_VALUES))
    const res = spawnSync(
      helm,
      ['template', 'ndra', CHART, '--namespace', 'network-dra', '--values', values],
      { encoding: 'utf8' },
    )
    if (res.status !== 0) throw new Error(`helm template failed: ${res.stderr}`)
    const objects = parseAllDocuments(res.stdout)
      .map(d => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null)
    const cm = objects.find(o => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-policy'))
    if (cm === undefined) throw new Error('the chart rendered no policy ConfigMap')
    const policyJson = Object.values(cm.data as Record<string, string>)[0] ?? ''
    const policy = parsePolicy(JSON.parse(policyJson), 'rendered policy.json')
    const classParams = new Map<string, unknown>()
    for (const o of objects) {
      const name = o.metadata?.labels?.['network-dra.dev/network'] as string | undefined
      if (o.kind === 'DeviceClass' && name !== undefined) {
        classParams.set(name, o.spec.config[0].opaque.parameters)
      }
    }
    return { policyJson, policy, classParams }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The `status.allocation.devices.config` entries of a case's claim (request `net`): the admin
 * network's class parameters first, then the claim's own. The API server stores the claim's text;
 * the daemon's kube client hands it over as JSON.parse reads it.
 */
export function corpusAllocationConfig(
  c: BenignCase & { readonly parametersJson?: string },
  r: RenderedCorpusChart,
  driver: string,
): DeviceAllocationConfiguration[] {
  const config: DeviceAllocationConfiguration[] = []
  if (typeof c.deviceClass === 'object') {
    const params = r.classParams.get(c.deviceClass.network)
    if (params === undefined) throw new Error(`no admin network ${c.deviceClass.network}`)
    config.push({ source: 'FromClass', requests: ['net'], opaque: { driver, parameters: params } })
  }
  const params: unknown =
    c.parametersJson !== undefined ? JSON.parse(c.parametersJson) : c.parameters
  if (params !== undefined) {
    config.push({ source: 'FromClaim', requests: ['net'], opaque: { driver, parameters: params } })
  }
  return config
}
