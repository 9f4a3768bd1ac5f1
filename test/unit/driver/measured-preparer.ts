// Invariant: every kubelet DRA call is counted by method and result (ok, claim_error, error) and
// timed, and the inner preparer's answer or error passes through unchanged.
import t from 'tap'
import { MeasuredPreparer } from '../../../src/driver/measured-preparer.js'
import type { ClaimPreparer } from '../../../src/kubelet/claim-preparer.js'
import { Metrics } from '../../../src/observability/metrics.js'

const signal = new AbortController().signal
const ref = { namespace: 'ns', name: 'c', uid: 'u' }

async function counter(m: Metrics, method: string, result: string): Promise<number> {
  const v = (await m.rpcTotal.get()).values.find(
    x => x.labels.method === method && x.labels.result === result,
  )
  return v?.value ?? 0
}

t.test('results and errors are counted and passed through', async t => {
  const m = new Metrics({ defaultMetrics: false })
  let mode: 'ok' | 'claim' | 'throw' = 'ok'
  const inner: ClaimPreparer = {
    prepare: async () => {
      if (mode === 'throw') throw new Error('boom')
      return new Map([['u', mode === 'ok' ? { devices: [] } : { error: 'bad' }]])
    },
    unprepare: async () => {
      if (mode === 'throw') throw new Error('boom')
      return new Map([['u', mode === 'ok' ? {} : { error: 'bad' }]])
    },
  }
  const p = new MeasuredPreparer(inner, m)
  t.same(await p.prepare([ref], signal), new Map([['u', { devices: [] }]]))
  await p.unprepare([ref], signal)
  mode = 'claim'
  t.same(await p.prepare([ref], signal), new Map([['u', { error: 'bad' }]]))
  await p.unprepare([ref], signal)
  mode = 'throw'
  await t.rejects(p.prepare([ref], signal), { message: 'boom' })
  await t.rejects(p.unprepare([ref], signal), { message: 'boom' })
  for (const method of ['NodePrepareResources', 'NodeUnprepareResources']) {
    t.equal(await counter(m, method, 'ok'), 1, `${method} ok`)
    t.equal(await counter(m, method, 'claim_error'), 1, `${method} claim_error`)
    t.equal(await counter(m, method, 'error'), 1, `${method} error`)
  }
  const hist = (await m.rpcDuration.get()).values.filter(
    v => v.metricName === 'network_dra_rpc_duration_seconds_count',
  )
  t.same(
    hist.map(h => h.value),
    [3, 3],
  )
})
