// Invariant: every hostile claim of the corpus is refused by the real planner with the policy the
// chart renders from its default values plus CORPUS_VALUES, with the rule the case names and a
// message that says what is wrong and what to do; every benign control passes with the same policy.
import { existsSync } from 'node:fs'
import t from 'tap'
import { buildAttachmentPlans } from '../../../src/claims/plan-builder.js'
import { POLICY_RULES } from '../../../src/claims/policy-rules.js'
import type { ResourceClaimV1 } from '../../../src/claims/resource-claim.js'
import { DriverError } from '../../../src/errors.js'
import {
  HELM as helm,
  corpusAllocationConfig,
  renderCorpusChart,
  type RenderedCorpusChart as Rendered,
} from '../../corpus/corpus-chart.js'
import {
  BENIGN_CASES,
  CORPUS_HOST_INTERFACE,
  CORPUS_NAMESPACES,
  HOSTILE_CASES,
  type BenignCase,
} from '../../corpus/hostile-claims.js'

const DRIVER = 'network-dra.dev'
const NODE = 'node-a'

function claimFor(c: BenignCase & { parametersJson?: string }, r: Rendered): ResourceClaimV1 {
  const device =
    c.deviceClass === 'host-interface' ? `host-${c.hostInterface ?? ''}` : 'attachment-0'
  return {
    metadata: { name: c.id, namespace: CORPUS_NAMESPACES[c.namespace], uid: `uid-${c.id}` },
    status: {
      allocation: {
        devices: {
          results: [{ request: 'net', driver: DRIVER, pool: NODE, device }],
          config: corpusAllocationConfig(c, r, DRIVER),
        },
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
  const rendered = renderCorpusChart()

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
