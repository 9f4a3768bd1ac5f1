// Invariant: every hostile claim of the corpus is refused by the real planner with the policy the
// chart renders from its default values plus CORPUS_VALUES, with the rule the case names and a
// message that says what is wrong and what to do; every benign control passes with the same policy.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { buildAttachmentPlans } from '../../../src/claims/plan-builder.js'
import { parsePolicy, type Policy } from '../../../src/claims/policy.js'
import { POLICY_RULES } from '../../../src/claims/policy-rules.js'
import type {
  DeviceAllocationConfiguration,
  ResourceClaimV1,
} from '../../../src/claims/resource-claim.js'
import { DriverError } from '../../../src/errors.js'
import {
  BENIGN_CASES,
  CORPUS_HOST_INTERFACE,
  CORPUS_NAMESPACES,
  CORPUS_VALUES,
  HOSTILE_CASES,
  type BenignCase,
} from '../../corpus/hostile-claims.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const chart = join(root, 'charts', 'network-dra')
const helm = process.env.HELM ?? '/var/cache/network-dra/helm/v3.19.0/bin/helm'
const DRIVER = 'network-dra.dev'
const NODE = 'node-a'

// Rendered manifests are untyped JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

/** What the chart gives the daemon: its policy file and the admin networks' class parameters. */
interface Rendered {
  readonly policy: Policy
  readonly classParams: ReadonlyMap<string, unknown>
}

/** Render the chart as an install would (default values + CORPUS_VALUES). */
function renderChart(): Rendered {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-corpus-'))
  try {
    const values = join(dir, 'values.json')
    writeFileSync(values, JSON.stringify(CORPUS_VALUES))
    const res = spawnSync(
      helm,
      ['template', 'ndra', chart, '--namespace', 'network-dra', '--values', values],
      { encoding: 'utf8' },
    )
    if (res.status !== 0) throw new Error(`helm template failed: ${res.stderr}`)
    const objects = parseAllDocuments(res.stdout)
      .map(d => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null)
    const cm = objects.find(o => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-policy'))
    if (cm === undefined) throw new Error('the chart rendered no policy ConfigMap')
    const file = Object.values(cm.data as Record<string, string>)[0] ?? ''
    const policy = parsePolicy(JSON.parse(file), 'rendered policy.json')
    const classParams = new Map<string, unknown>()
    for (const o of objects) {
      const name = o.metadata?.labels?.['network-dra.dev/network'] as string | undefined
      if (o.kind === 'DeviceClass' && name !== undefined) {
        classParams.set(name, o.spec.config[0].opaque.parameters)
      }
    }
    return { policy, classParams }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function claimFor(c: BenignCase & { parametersJson?: string }, r: Rendered): ResourceClaimV1 {
  const device =
    c.deviceClass === 'host-interface' ? `host-${c.hostInterface ?? ''}` : 'attachment-0'
  const config: DeviceAllocationConfiguration[] = []
  if (typeof c.deviceClass === 'object') {
    const params = r.classParams.get(c.deviceClass.network)
    if (params === undefined) throw new Error(`no admin network ${c.deviceClass.network}`)
    config.push({
      source: 'FromClass',
      requests: ['net'],
      opaque: { driver: DRIVER, parameters: params },
    })
  }
  // The API server stores the text; the daemon's kube client hands it over as JSON.parse reads it.
  const params: unknown =
    c.parametersJson !== undefined ? JSON.parse(c.parametersJson) : c.parameters
  if (params !== undefined) {
    config.push({
      source: 'FromClaim',
      requests: ['net'],
      opaque: { driver: DRIVER, parameters: params },
    })
  }
  return {
    metadata: { name: c.id, namespace: CORPUS_NAMESPACES[c.namespace], uid: `uid-${c.id}` },
    status: {
      allocation: {
        devices: { results: [{ request: 'net', driver: DRIVER, pool: NODE, device }], config },
      },
    },
  }
}

function plan(c: BenignCase & { parametersJson?: string }, r: Rendered): unknown {
  return buildAttachmentPlans({
    claim: claimFor(c, r),
    driverName: DRIVER,
    nodeName: NODE,
    policy: r.policy,
    hostInterface: d => (d === `host-${CORPUS_HOST_INTERFACE}` ? CORPUS_HOST_INTERFACE : undefined),
  })
}

if (!existsSync(helm)) {
  t.fail(`helm binary not found at ${helm} (set HELM to a helm v3 binary)`)
} else {
  const rendered = renderChart()

  t.test('the corpus is large, unique and uses the rendered admin networks', async t => {
    t.ok(HOSTILE_CASES.length >= 90, `${HOSTILE_CASES.length} hostile cases`)
    t.equal(new Set(HOSTILE_CASES.map(c => c.id)).size, HOSTILE_CASES.length, 'ids are unique')
    t.same([...rendered.classParams.keys()].sort(), ['corp-fixed', 'corp-net'])
    t.same(rendered.policy.tenantNetworkNamespaces, [CORPUS_NAMESPACES.granted])
  })

  t.test('hostile cases are refused with their rule and a readable message', async t => {
    for (const c of HOSTILE_CASES) {
      let err: unknown
      try {
        plan(c, rendered)
      } catch (e: unknown) {
        err = e
      }
      if (!(err instanceof DriverError)) {
        t.fail(`${c.id}: not refused (${String(err)})`)
        continue
      }
      t.equal(err.code, 'NDRA_POLICY_VIOLATION', `${c.id}: code (${err.message})`)
      const lines = err.message.split(' | ')
      const line = lines.find(l => l.startsWith(`network-dra policy [${c.rule}] `))
      if (line === undefined) {
        t.fail(`${c.id}: rule ${c.rule} did not fire: ${err.message}`)
        continue
      }
      // "<path>: <detail>; <rule message>": a field to fix, what is wrong, what to do.
      const m = /^network-dra policy \[[a-z-]+\] (\S[^:]*): (.+); (.+)$/.exec(line)
      t.ok(m, `${c.id}: message format: ${line}`)
      t.ok(line.endsWith(`; ${POLICY_RULES[c.rule].message}`), `${c.id}: rule message`)
      t.ok((m?.[2] ?? '').length > 10, `${c.id}: detail says what is wrong`)
    }
  })

  t.test('benign controls pass', async t => {
    for (const c of BENIGN_CASES) {
      t.doesNotThrow(() => plan(c, rendered), c.id)
    }
  })

  t.test('the 2,000 nested arrays case names the limit', async t => {
    const c = HOSTILE_CASES.find(x => x.id === 'issue-2000-nested-arrays')
    t.throws(() => (c === undefined ? undefined : plan(c, rendered)), {
      code: 'NDRA_POLICY_VIOLATION',
      message: /\[limits\] .*nested deeper than maxDepth 16 levels \(policy\.limits\.maxDepth\)/,
    })
  })
}
