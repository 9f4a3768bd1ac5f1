// Invariant: with the chart rendered from its defaults plus the corpus values (CORPUS_VALUES) and
// applied for real to a kube-apiserver 1.35, every hostile corpus case written as a ResourceClaim
// (and a sample as ResourceClaimTemplates) in its namespace is refused at admission by the chart's
// claim policy with the rule the corpus names and that rule's POLICY_RULES message; every case the
// corpus marks not-expressible is admitted (the daemon refuses it at prepare), except where the API
// server's own validation refuses it first; every benign control is admitted. Prints how many
// cases each layer stops.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { POLICY_RULES } from '../../src/claims/policy-rules.js'
import {
  BENIGN_CASES,
  CORPUS_NAMESPACES,
  CORPUS_VALUES,
  HOSTILE_CASES,
  type CorpusDeviceClass,
  type HostileCase,
} from '../corpus/hostile-claims.js'
import { PLATFORM } from '../lib/platform.js'
import { KUBECONFIG_ENV, kubeconfigPath, ROOT } from './lib/daemon.js'
import { runProcess, type ProcessRun } from './lib/process.js'
import { randomSuffix } from './lib/netns.js'

const HELM = PLATFORM.helm
const KUBECTL = PLATFORM.kubectl
const DRIVER = 'network-dra.dev'
/** Every n-th case is also written as a ResourceClaimTemplate. */
const TEMPLATE_EVERY = 10

function className(d: CorpusDeviceClass): string {
  if (d === 'attachment') return `attachment.${DRIVER}`
  if (d === 'host-interface') return `host-interface.${DRIVER}`
  return `${d.network}.${DRIVER}`
}

/** The claim spec of a case as JSON text; raw parameter JSON is embedded byte for byte. */
function claimSpecJson(c: {
  deviceClass: CorpusDeviceClass
  parameters?: unknown
  parametersJson?: string
}): string {
  const requests = [{ name: 'net', exactly: { deviceClassName: className(c.deviceClass) } }]
  const params =
    c.parametersJson ?? (c.parameters === undefined ? undefined : JSON.stringify(c.parameters))
  if (params === undefined) return JSON.stringify({ devices: { requests } })
  const marker = '"__params__"'
  const spec = JSON.stringify({
    devices: {
      requests,
      config: [{ requests: ['net'], opaque: { driver: DRIVER, parameters: '__params__' } }],
    },
  })
  return spec.replace(marker, params)
}

/** The object body of a case, as a claim or a claim template (its spec one level down). */
function objectJson(
  kind: 'ResourceClaim' | 'ResourceClaimTemplate',
  name: string,
  spec: string,
): string {
  const head = JSON.stringify({ apiVersion: 'resource.k8s.io/v1', kind, metadata: { name } })
  const body = kind === 'ResourceClaim' ? spec : `{"spec":${spec}}`
  return `${head.slice(0, -1)},"spec":${body}}`
}

/** What admission did with one object. */
type Outcome =
  | { kind: 'admitted' }
  | { kind: 'policy'; rule: string; message: string }
  | { kind: 'api-validation'; message: string }
  | { kind: 'other'; message: string }

function outcomeOf(r: ProcessRun): Outcome {
  if (r.code === 0) return { kind: 'admitted' }
  const message = r.stderr.trim()
  const m = /denied request: network-dra policy \[([a-z-]+)\]/.exec(message)
  if (m !== null) return { kind: 'policy', rule: m[1] ?? '', message }
  if (/is invalid|Invalid value|Too long/.test(message)) return { kind: 'api-validation', message }
  return { kind: 'other', message }
}

t.test('hostile corpus through the real API server admission', { timeout: 900_000 }, async t => {
  const kubeconfig = await kubeconfigPath()
  if (kubeconfig === undefined) {
    t.fail(
      `no control plane: run \`bash scripts/test/integration.sh\` or set ${KUBECONFIG_ENV} (scripts/cluster/control-plane.sh up)`,
    )
    return
  }
  const kubectl = (args: readonly string[], stdin?: string): Promise<ProcessRun> =>
    runProcess(KUBECTL, ['--kubeconfig', kubeconfig, ...args], stdin)

  const sfx = randomSuffix()
  const release = `ndra-adm-${sfx}`
  const releaseNs = `ndra-adm-${sfx}`
  const dir = await mkdtemp(join(tmpdir(), 'ndra-adm-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const valuesFile = join(dir, 'corpus-values.json')
  await writeFile(valuesFile, JSON.stringify(CORPUS_VALUES))
  const rendered = await runProcess(HELM, [
    'template',
    release,
    join(ROOT, 'charts', 'network-dra'),
    '--namespace',
    releaseNs,
    '--values',
    valuesFile,
  ])
  t.equal(rendered.code, 0, `helm template with the corpus values (${rendered.stderr.trim()})`)

  // The release namespace and the corpus namespaces (kept if they existed before).
  const created: string[] = []
  for (const ns of [releaseNs, CORPUS_NAMESPACES.tenant, CORPUS_NAMESPACES.granted]) {
    const exists = await kubectl(['get', 'namespace', ns, '-o', 'name'])
    if (exists.code === 0) continue
    const r = await kubectl(['create', 'namespace', ns])
    t.equal(r.code, 0, `namespace ${ns} (${r.stderr.trim()})`)
    created.push(ns)
  }
  t.teardown(async () => {
    for (const ns of created) {
      await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false'])
    }
  })
  t.teardown(async () => {
    await kubectl(
      ['delete', '-n', releaseNs, '-f', '-', '--ignore-not-found', '--wait=false'],
      rendered.stdout,
    )
  })
  const applied = await kubectl(['apply', '-n', releaseNs, '-f', '-'], rendered.stdout)
  t.equal(applied.code, 0, `chart applied (${applied.stderr.trim()})`)
  const policies = await kubectl(['get', 'validatingadmissionpolicies', '-o', 'name'])
  const claimPolicies = policies.stdout.split('\n').filter(l => l.includes('claim-config'))
  t.equal(
    claimPolicies.length,
    1,
    `only this release's claim policy judges claims: ${claimPolicies.join(' ')}`,
  )

  const create = (
    kind: 'ResourceClaim' | 'ResourceClaimTemplate',
    ns: string,
    name: string,
    spec: string,
  ): Promise<ProcessRun> => {
    const plural = kind === 'ResourceClaim' ? 'resourceclaims' : 'resourceclaimtemplates'
    const file = join(dir, `${kind}-${name}.json`)
    return writeFile(file, objectJson(kind, name, spec)).then(() =>
      kubectl([
        'create',
        '--raw',
        `/apis/resource.k8s.io/v1/namespaces/${ns}/${plural}?dryRun=All&fieldValidation=Strict`,
        '-f',
        file,
      ]),
    )
  }

  // The policy is live once the apiserver's policy informer has it.
  const probe = HOSTILE_CASES.find(c => c.id === 'raw-network-ungranted-namespace')
  t.ok(probe, 'the corpus has the namespace-grant case')
  if (probe === undefined) return
  const deadline = Date.now() + 60_000
  for (;;) {
    const r = await create('ResourceClaim', CORPUS_NAMESPACES.tenant, 'probe', claimSpecJson(probe))
    if (outcomeOf(r).kind === 'policy' || Date.now() > deadline) break
    await new Promise(res => setTimeout(res, 500))
  }

  const counts = {
    total: HOSTILE_CASES.length,
    admission: 0,
    admissionTemplates: 0,
    notExpressibleAdmitted: 0,
    apiValidation: 0,
    benignAdmitted: 0,
  }
  const byRule = new Map<string, number>()
  const notExpressible: string[] = []

  const check = async (
    c: HostileCase,
    kind: 'ResourceClaim' | 'ResourceClaimTemplate',
  ): Promise<void> => {
    const ns = CORPUS_NAMESPACES[c.namespace]
    const name = c.id.slice(0, 63)
    const o = outcomeOf(await create(kind, ns, name, claimSpecJson(c)))
    const label = `${kind} ${c.id} (${c.what})`
    if (c.admission === 'not-expressible') {
      if (o.kind === 'api-validation') {
        if (kind === 'ResourceClaim') {
          counts.apiValidation++
          notExpressible.push(`${c.id} (refused by API validation)`)
        }
        t.pass(`${label}: refused by the API server's own validation`)
        return
      }
      t.equal(
        o.kind,
        'admitted',
        `${label}: admission lets it through for the daemon (${'message' in o ? o.message : ''})`,
      )
      if (kind === 'ResourceClaim') {
        counts.notExpressibleAdmitted++
        notExpressible.push(c.id)
      }
      return
    }
    t.equal(
      o.kind,
      'policy',
      `${label}: refused by the claim policy (${'message' in o ? o.message : 'admitted'})`,
    )
    if (o.kind !== 'policy') return
    t.equal(o.rule, c.admission, `${label}: rule [${c.admission}]`)
    const rule = POLICY_RULES[c.admission]
    t.ok(o.message.includes(`; ${rule.message}`), `${label}: carries the rule message`)
    if (kind === 'ResourceClaim') {
      counts.admission++
      byRule.set(o.rule, (byRule.get(o.rule) ?? 0) + 1)
    } else {
      counts.admissionTemplates++
    }
  }

  for (const [i, c] of HOSTILE_CASES.entries()) {
    await check(c, 'ResourceClaim')
    if (i % TEMPLATE_EVERY === 0) await check(c, 'ResourceClaimTemplate')
  }
  for (const b of BENIGN_CASES) {
    const r = await create('ResourceClaim', CORPUS_NAMESPACES[b.namespace], b.id, claimSpecJson(b))
    const o = outcomeOf(r)
    t.equal(
      o.kind,
      'admitted',
      `benign ${b.id} (${b.what}) is admitted (${'message' in o ? o.message : ''})`,
    )
    if (o.kind === 'admitted') counts.benignAdmitted++
  }

  const report = [
    `admission corpus: ${counts.total} hostile cases`,
    `  refused at admission (claims): ${counts.admission}`,
    `    by rule: ${[...byRule.entries()]
      .sort()
      .map(([r, n]) => `${r}=${n}`)
      .join(' ')}`,
    `  refused at admission (claim templates sample): ${counts.admissionTemplates}`,
    `  not expressible in CEL, admitted for the daemon: ${counts.notExpressibleAdmitted}`,
    `  refused by the API server's own validation: ${counts.apiValidation}`,
    `  not-expressible cases: ${notExpressible.join(', ')}`,
    `  benign controls admitted: ${counts.benignAdmitted}/${BENIGN_CASES.length}`,
  ].join('\n')
  t.comment(report)
  t.equal(
    counts.admission + counts.notExpressibleAdmitted + counts.apiValidation,
    counts.total,
    'every case is accounted for by one layer',
  )
})
