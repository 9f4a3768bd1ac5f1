// Invariant: a plugin binary is asked VERSION once per (path, mtime, size) — concurrent callers
// share one question, a changed binary is asked again, a failed or timed-out question is not
// remembered — and a plugin that does not answer in time fails with NDRA_CNI_TIMEOUT.
import t from 'tap'
import { PluginVersions, type VersionRuntime } from '../../../src/cni/plugin-versions.js'
import { DriverError } from '../../../src/errors.js'

/** Records each VERSION question; answers from `answers`, or hangs until aborted for `hang`. */
class FakeRuntime implements VersionRuntime {
  readonly asked: string[] = []
  fail: Error | undefined
  constructor(readonly answers: Record<string, string[]>) {}
  async pluginPath(type: string) {
    if (!(type in this.answers) && type !== 'hang') {
      throw new DriverError('NDRA_CNI_PLUGIN_NOT_FOUND', `failed to find plugin "${type}"`)
    }
    return `/bin/${type}`
  }
  async version(type: string, opts?: { signal?: AbortSignal | undefined }) {
    this.asked.push(type)
    await new Promise(r => setTimeout(r, 5))
    if (type === 'hang') {
      await new Promise((_, reject) => {
        opts?.signal?.addEventListener('abort', () => {
          reject(new DriverError('NDRA_CNI_TIMEOUT', 'plugin /bin/hang was cancelled and killed'))
        })
      })
    }
    if (this.fail) throw this.fail
    return { cniVersion: '1.0.0', supportedVersions: this.answers[type] ?? [] }
  }
}

const files: Record<string, { mtimeMs: number; size: number }> = {}
const stat = async (p: string) => files[p] ?? { mtimeMs: 1, size: 1 }

t.test('one question per binary, shared by concurrent callers', async t => {
  const rt = new FakeRuntime({ bridge: ['0.4.0', '1.0.0'], macvlan: ['1.0.0'] })
  const pv = new PluginVersions({ runtime: rt, timeoutMs: 1000, stat })
  const [a, b] = await Promise.all([pv.of('bridge'), pv.of('bridge')])
  t.same(a, { path: '/bin/bridge', supportedVersions: ['0.4.0', '1.0.0'] })
  t.same(b, a)
  await pv.of('bridge')
  await pv.of('macvlan')
  t.same(rt.asked, ['bridge', 'macvlan'])
})

t.test('a changed binary (mtime or size) is asked again', async t => {
  const rt = new FakeRuntime({ ptp: ['1.0.0'] })
  const pv = new PluginVersions({ runtime: rt, timeoutMs: 1000, stat })
  files['/bin/ptp'] = { mtimeMs: 10, size: 100 }
  await pv.of('ptp')
  files['/bin/ptp'] = { mtimeMs: 11, size: 100 }
  rt.answers['ptp'] = ['1.0.0', '1.1.0']
  t.same((await pv.of('ptp')).supportedVersions, ['1.0.0', '1.1.0'])
  files['/bin/ptp'] = { mtimeMs: 11, size: 101 }
  await pv.of('ptp')
  t.same(rt.asked, ['ptp', 'ptp', 'ptp'])
})

t.test('failures are not cached; a missing plugin rejects with its own code', async t => {
  const rt = new FakeRuntime({ vlan: ['1.0.0'] })
  const pv = new PluginVersions({ runtime: rt, timeoutMs: 1000, stat })
  rt.fail = new DriverError('NDRA_CNI_PLUGIN', 'plugin type="vlan" failed (version): boom')
  await t.rejects(pv.of('vlan'), { code: 'NDRA_CNI_PLUGIN' })
  rt.fail = undefined
  t.same((await pv.of('vlan')).supportedVersions, ['1.0.0'])
  t.same(rt.asked, ['vlan', 'vlan'])
  await t.rejects(pv.of('nope'), { code: 'NDRA_CNI_PLUGIN_NOT_FOUND' })
})

t.test('a plugin that does not answer in time: NDRA_CNI_TIMEOUT naming the bound', async t => {
  const rt = new FakeRuntime({})
  const pv = new PluginVersions({ runtime: rt, timeoutMs: 50, stat })
  // AbortSignal.timeout does not keep the process alive; this does, for the test's duration.
  const keep = setInterval(() => undefined, 1000)
  t.teardown(() => {
    clearInterval(keep)
  })
  const started = Date.now()
  await t.rejects(pv.of('hang'), { code: 'NDRA_CNI_TIMEOUT', message: /within 50 ms/ })
  t.ok(Date.now() - started < 1000, 'bounded')
  await t.rejects(pv.of('hang'), { code: 'NDRA_CNI_TIMEOUT' })
  t.same(rt.asked, ['hang', 'hang'], 'not cached')
})

t.test("the caller's abort is passed through as is", async t => {
  const rt = new FakeRuntime({})
  const pv = new PluginVersions({ runtime: rt, timeoutMs: 10_000, stat })
  const ac = new AbortController()
  setTimeout(() => {
    ac.abort()
  }, 20)
  await t.rejects(pv.of('hang', ac.signal), { message: /cancelled/ })
})

t.test('at most maxEntries binaries are remembered', async t => {
  const rt = new FakeRuntime({ a: ['1.0.0'], b: ['1.0.0'], c: ['1.0.0'] })
  const pv = new PluginVersions({ runtime: rt, timeoutMs: 1000, stat, maxEntries: 2 })
  for (const x of ['a', 'b', 'c', 'c', 'b', 'a']) await pv.of(x)
  t.same(rt.asked, ['a', 'b', 'c', 'a'], 'a was dropped first and asked again')
})

t.test('timeoutMs must be positive', async t => {
  t.throws(() => new PluginVersions({ runtime: new FakeRuntime({}), timeoutMs: 0 }), {
    code: 'NDRA_INVALID_ARGUMENT',
  })
})
