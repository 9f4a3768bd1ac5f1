// Invariant: every plugin run is timed with its plugin type, CNI command and result (ok or the
// error's stable code), and stdout / errors pass through unchanged.
import t from 'tap'
import { DriverError } from '../../../src/errors.js'
import type { CniExec } from '../../../src/cni/exec.js'
import { MeasuredExec } from '../../../src/observability/measured-exec.js'
import { Metrics } from '../../../src/observability/metrics.js'

t.test('timing labels and pass-through', async t => {
  const m = new Metrics({ defaultMetrics: false })
  let fail = false
  const inner: CniExec = {
    execPlugin: async () => {
      if (fail) throw new DriverError('NDRA_CNI_TIMEOUT', 'killed')
      return new TextEncoder().encode('{"cniVersion":"1.0.0"}')
    },
    findInPath: async type => `/usr/lib/cni/${type}`,
    runCommand: async argv => argv.join(' '),
  }
  const exec = new MeasuredExec(inner, m.cniPluginDuration)
  t.equal(await exec.findInPath('macvlan', ['/usr/lib/cni']), '/usr/lib/cni/macvlan')
  t.equal(await exec.runCommand(['iptables', '-S'], {}, { timeoutMs: 1000 }), 'iptables -S')
  const out = await exec.execPlugin(
    '/usr/lib/cni/macvlan',
    new Uint8Array(),
    { CNI_COMMAND: 'ADD' },
    { timeoutMs: 1000 },
  )
  t.equal(new TextDecoder().decode(out), '{"cniVersion":"1.0.0"}')
  fail = true
  await t.rejects(
    exec.execPlugin('/usr/lib/cni/host-local', new Uint8Array(), {}, { timeoutMs: 1000 }),
    { code: 'NDRA_CNI_TIMEOUT' },
  )
  const counts = (await m.cniPluginDuration.get()).values
    .filter(v => v.metricName === 'network_dra_cni_plugin_duration_seconds_count')
    .map(v => ({ ...v.labels, n: v.value }))
  t.same(counts, [
    { plugin: 'macvlan', command: 'ADD', result: 'ok', n: 1 },
    { plugin: 'host-local', command: 'unknown', result: 'NDRA_CNI_TIMEOUT', n: 1 },
  ])
})
