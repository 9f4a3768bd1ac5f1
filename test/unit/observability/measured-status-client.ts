// Invariant: every claim status write (apply, JSON Patch) is timed with its operation and result
// (ok or the error's stable code); reads are not counted as writes; results and errors pass
// through unchanged.
import t from 'tap'
import { DriverError } from '../../../src/errors.js'
import { MeasuredStatusClient } from '../../../src/observability/measured-status-client.js'
import { Metrics } from '../../../src/observability/metrics.js'
import type { ClaimStatusClient } from '../../../src/status/claim-status.js'

t.test('timing labels and pass-through', async t => {
  const m = new Metrics({ defaultMetrics: false })
  const calls: string[] = []
  let fail = false
  const inner: ClaimStatusClient = {
    applyStatus: async (ns, name, body, fm) => {
      calls.push(`apply ${ns}/${name} ${JSON.stringify(body)} ${fm}`)
      if (fail) throw new DriverError('NDRA_KUBE_API', 'conflict')
    },
    readStatusDevices: async (ns, name) => {
      calls.push(`read ${ns}/${name}`)
      return { resourceVersion: '7', devices: [{ device: 'd' }] }
    },
    jsonPatchStatus: async (ns, name, ops, fm) => {
      calls.push(`patch ${ns}/${name} ${JSON.stringify(ops)} ${fm}`)
    },
  }
  const c = new MeasuredStatusClient(inner, m.statusWriteDuration)
  await c.applyStatus('ns', 'a', { status: {} }, 'fm')
  await c.jsonPatchStatus('ns', 'b', [{ op: 'remove', path: '/status/devices/0' }], 'fm')
  t.same(await c.readStatusDevices('ns', 'c'), { resourceVersion: '7', devices: [{ device: 'd' }] })
  fail = true
  await t.rejects(c.applyStatus('ns', 'd', {}, 'fm'), { code: 'NDRA_KUBE_API' })
  t.same(calls, [
    'apply ns/a {"status":{}} fm',
    'patch ns/b [{"op":"remove","path":"/status/devices/0"}] fm',
    'read ns/c',
    'apply ns/d {} fm',
  ])
  const counts = (await m.statusWriteDuration.get()).values
    .filter(v => v.metricName === 'network_dra_status_write_duration_seconds_count')
    .map(v => ({ ...v.labels, n: v.value }))
  t.same(counts, [
    { operation: 'apply', result: 'ok', n: 1 },
    { operation: 'json_patch', result: 'ok', n: 1 },
    { operation: 'apply', result: 'NDRA_KUBE_API', n: 1 },
  ])
})
