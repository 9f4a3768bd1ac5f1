// Invariant: CniRuntime follows libcni's list semantics — ADD in order with prevResult chaining and
// caching, DEL in reverse with the cached result (converted) as prevResult, cache removed only on
// success, CHECK/STATUS/GC version gates and flags, GC deleting only stale attachments of its network
// and injecting both valid-attachment keys, validators before any exec, errors wrapped with the
// plugin type/name/op, and per-attachment serialisation.
import t, { type Test } from 'tap'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseConfList } from '../../../src/cni/conf.js'
import { PluginFailure } from '../../../src/cni/plugin-failure.js'
import { CniRuntime, type RuntimeConf } from '../../../src/cni/runtime.js'
import { CniPluginError, DriverError } from '../../../src/errors.js'
import { CniFakeExec, type FakeCall } from '../../fakes/cni-fake-exec.js'

const result = (version: string, addr: string) => ({
  cniVersion: version,
  interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/run/netns/x' }],
  ips: [{ interface: 0, address: addr }],
})

function setup(t0: Test, version = '1.1.0', extra: Record<string, unknown> = {}) {
  const dir = t0.testdir()
  const exec = new CniFakeExec(['main', 'meta'], (c: FakeCall) => {
    if (c.command !== 'ADD') return ''
    if (c.type === 'main') return result(version, '10.0.0.2/24')
    return c.stdin['prevResult']
  })
  const runtime = new CniRuntime({
    binDirs: ['/fake/bin'],
    cacheDir: dir,
    pluginTimeoutMs: 1234,
    exec,
    parentEnv: { PATH: '/usr/bin', CNI_ARGS: 'leak=1', UNSET: undefined },
  })
  const list = parseConfList({
    cniVersion: version,
    name: 'net',
    plugins: [
      { type: 'main', capabilities: { mac: true, ips: false } },
      { type: 'meta', capabilities: { bandwidth: true } },
    ],
    ...extra,
  })
  return { dir, exec, runtime, list }
}

const rt: RuntimeConf = {
  containerId: 'c1',
  netns: '/run/netns/x',
  ifName: 'net1',
  args: [['IgnoreUnknown', '1']],
  capabilityArgs: { mac: '02:00:00:00:00:09', ips: ['1.2.3.4/32'] },
}

t.test('ADD runs in order, chains prevResult, injects, caches', async tt => {
  const { dir, exec, runtime, list } = setup(tt)
  const res = await runtime.add(list, rt)
  tt.same(exec.trace, ['ADD main', 'ADD meta'])
  const [first, second] = exec.calls
  tt.equal(first?.stdin['name'], 'net')
  tt.equal(first?.stdin['cniVersion'], '1.1.0')
  tt.notOk('prevResult' in (first?.stdin ?? {}), 'first plugin gets no prevResult')
  tt.same(
    first?.stdin['runtimeConfig'],
    { mac: '02:00:00:00:00:09' },
    'only declared+supplied caps',
  )
  tt.notOk('runtimeConfig' in (second?.stdin ?? {}), 'no runtimeConfig when nothing matches')
  tt.same(second?.stdin['prevResult'], result('1.1.0', '10.0.0.2/24'))
  tt.equal(first?.env['CNI_ARGS'], 'IgnoreUnknown=1', 'CNI_* override the parent env')
  tt.equal(first?.env['CNI_PATH'], '/fake/bin')
  tt.equal(first?.env['PATH'], '/usr/bin')
  tt.equal(first?.timeoutMs, 1234)
  tt.same(res, result('1.1.0', '10.0.0.2/24'))
  tt.same(await readdir(join(dir, 'results')), ['net-c1-net1'])
  tt.same(await runtime.cachedResult(list, rt), res)
  const atts = await runtime.cachedAttachments('c1')
  tt.equal(atts.length, 1)
  tt.same(atts[0]?.capabilityArgs, rt.capabilityArgs)
})

t.test('ADD result without cniVersion takes the config version; null is {}', async tt => {
  const { exec, runtime, list } = setup(tt, '0.4.0')
  exec.responder = c =>
    c.type === 'main' ? { ips: [{ version: '4', address: '10.0.0.5/24' }] } : 'null'
  const res = await runtime.add(list, rt)
  tt.same(res, { cniVersion: '0.4.0' })
  tt.same(exec.calls[1]?.stdin['prevResult'], {
    cniVersion: '0.4.0',
    ips: [{ version: '4', address: '10.0.0.5/24' }],
  })
})

t.test('DEL runs in reverse with the cached result converted to the list version', async tt => {
  const { dir, exec, runtime, list } = setup(tt, '1.0.0')
  await runtime.add(list, rt)
  const list040 = parseConfList({
    cniVersion: '0.4.0',
    name: 'net',
    plugins: list.plugins.map(p => p.raw),
  })
  exec.calls.length = 0
  await runtime.del(list040, rt)
  tt.same(exec.trace, ['DEL meta', 'DEL main'])
  tt.same(exec.calls[0]?.stdin['prevResult'], {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/run/netns/x' }],
    ips: [{ version: '4', interface: 0, address: '10.0.0.2/24' }],
  })
  tt.same(await readdir(join(dir, 'results')), [], 'cache removed on success')
  exec.calls.length = 0
  await runtime.del(list, rt)
  tt.notOk('prevResult' in (exec.calls[0]?.stdin ?? {}), 'missing cache: no prevResult')
})

t.test('DEL failure keeps the cache; corrupt cache is dropped', async tt => {
  const { dir, exec, runtime, list } = setup(tt)
  await runtime.add(list, rt)
  exec.responder = c => {
    if (c.command === 'DEL' && c.type === 'main') {
      throw new PluginFailure({ cniCode: 11, msg: 'busy', details: 'later' })
    }
    return ''
  }
  const err = await runtime.del(list, rt).catch((e: unknown) => e)
  tt.ok(err instanceof CniPluginError)
  tt.equal((err as CniPluginError).cniCode, 11)
  tt.equal((err as Error).message, 'plugin type="main" name="net" failed (delete): busy; later')
  tt.same(await readdir(join(dir, 'results')), ['net-c1-net1'], 'cache kept')
  const { writeFile } = await import('node:fs/promises')
  await writeFile(join(dir, 'results', 'net-c1-net1'), '{broken')
  exec.responder = () => ''
  exec.calls.length = 0
  await runtime.del(list, rt)
  tt.notOk('prevResult' in (exec.calls[0]?.stdin ?? {}))
  tt.same(await readdir(join(dir, 'results')), [])
})

t.test('DEL on a <0.4.0 list sends no prevResult', async tt => {
  const { exec, runtime, list } = setup(tt, '0.3.1')
  await runtime.add(list, rt)
  exec.calls.length = 0
  await runtime.del(list, rt)
  tt.notOk('prevResult' in (exec.calls[0]?.stdin ?? {}))
})

t.test('CHECK gates and prevResult', async tt => {
  const old = setup(tt, '0.3.1')
  await tt.rejects(old.runtime.check(old.list, rt), /does not support the CHECK command/)
  const off = setup(tt, '1.0.0', { disableCheck: 'true' })
  await off.runtime.check(off.list, rt)
  tt.same(off.exec.calls, [], 'disableCheck runs nothing')
  const { exec, runtime, list } = setup(tt, '1.0.0')
  await runtime.add(list, rt)
  exec.calls.length = 0
  await runtime.check(list, rt)
  tt.same(exec.trace, ['CHECK main', 'CHECK meta'])
  tt.same(exec.calls[1]?.stdin['prevResult'], result('1.0.0', '10.0.0.2/24'))
})

t.test('STATUS is a no-op below 1.1.0 and stops at the first error', async tt => {
  const old = setup(tt, '1.0.0')
  await old.runtime.status(old.list)
  tt.same(old.exec.calls, [])
  const { exec, runtime, list } = setup(tt, '1.1.0')
  exec.responder = c => {
    if (c.type === 'main') throw new PluginFailure({ cniCode: 50, msg: 'not ready' })
    return ''
  }
  const err = await runtime.status(list).catch((e: unknown) => e)
  tt.equal((err as CniPluginError).cniCode, 50)
  tt.same(exec.trace, ['STATUS main'])
  const c = exec.calls[0]
  tt.same(
    [c?.env['CNI_CONTAINERID'], c?.env['CNI_NETNS'], c?.env['CNI_IFNAME'], c?.env['CNI_ARGS']],
    ['', '', '', ''],
    'attachment vars present and empty',
  )
  tt.same(Object.keys(c?.stdin ?? {}).sort(), ['capabilities', 'cniVersion', 'name', 'type'])
})

t.test('GC deletes stale attachments of its network only, then GCs each plugin', async tt => {
  const { exec, runtime, list } = setup(tt, '1.1.0')
  const other = parseConfList({ cniVersion: '1.1.0', name: 'other', plugins: [{ type: 'main' }] })
  await runtime.add(list, rt)
  await runtime.add(list, { ...rt, containerId: 'c2', netns: '/run/netns/y', args: [['A', 'b']] })
  await runtime.add(other, { ...rt, containerId: 'c3' })
  exec.calls.length = 0
  await runtime.gc(list, [{ containerId: 'c1', ifName: 'net1' }])
  tt.same(exec.trace, ['DEL meta', 'DEL main', 'GC main', 'GC meta'])
  tt.equal(exec.calls[0]?.env['CNI_CONTAINERID'], 'c2')
  tt.equal(exec.calls[0]?.env['CNI_NETNS'], '/run/netns/y', 'cached netns used')
  tt.equal(exec.calls[0]?.env['CNI_ARGS'], 'A=b', 'cached args used')
  const want = [{ containerID: 'c1', ifname: 'net1' }]
  tt.same(exec.calls[2]?.stdin['cni.dev/valid-attachments'], want)
  tt.same(exec.calls[2]?.stdin['cni.dev/attachments'], want)
  tt.same(
    (await runtime.cachedAttachments()).map(a => `${a.networkName}/${a.containerId}`),
    ['net/c1', 'other/c3'],
  )
})

t.test('GC continues past errors and joins them; disableGC and <1.1.0 gates', async tt => {
  const { exec, runtime, list } = setup(tt, '1.1.0')
  await runtime.add(list, rt)
  exec.responder = c => {
    if (c.command === 'DEL' || c.type === 'meta')
      throw new PluginFailure({ cniCode: 7, msg: `${c.command} no` })
    return ''
  }
  exec.calls.length = 0
  const err = await runtime.gc(list, []).catch((e: unknown) => e)
  tt.same(exec.trace, ['DEL meta', 'GC main', 'GC meta'])
  tt.ok(err instanceof DriverError)
  tt.match(
    (err as Error).message,
    /failed to delete stale attachment c1 net1: .*DEL no[\s\S]*failed \(gc\): GC no/,
  )
  const off = setup(tt, '1.1.0', { disableGC: true })
  await off.runtime.add(off.list, rt)
  off.exec.calls.length = 0
  await off.runtime.gc(off.list, [])
  tt.same(off.exec.calls, [])
  const old = setup(tt, '1.0.0')
  await old.runtime.add(old.list, rt)
  old.exec.calls.length = 0
  await old.runtime.gc(old.list, [])
  tt.same(old.exec.trace, ['DEL meta', 'DEL main'], 'no plugin GC below 1.1.0')
})

t.test('validators run before any exec, with CNI codes', async tt => {
  const cases = [
    { conf: { ...rt, containerId: '' }, code: 3, msg: /missing containerID/ },
    { conf: { ...rt, containerId: '-x' }, code: 4, msg: /invalid characters in containerID/ },
    { conf: { ...rt, ifName: 'a-very-long-ifname' }, code: 4, msg: /too long/ },
    { conf: { ...rt, ifName: 'a:b' }, code: 4, msg: /contains \/ or :/ },
    { conf: { ...rt, ifName: '..' }, code: 4, msg: /\. or \.\./ },
    { conf: { ...rt, ifName: '' }, code: 4, msg: /empty/ },
  ]
  for (const c of cases) {
    const { exec, runtime, list } = setup(tt)
    const err = await runtime.add(list, c.conf).catch((e: unknown) => e)
    tt.ok(err instanceof CniPluginError, String(c.msg))
    tt.equal((err as CniPluginError).cniCode, c.code)
    tt.match((err as Error).message, /^plugin type="main" name="net" failed \(add\): /)
    tt.match((err as Error).message, c.msg)
    await tt.rejects(runtime.del(list, c.conf))
    tt.same(exec.calls, [], 'nothing executed')
  }
})

t.test('errors are wrapped with type, name and op; non-plugin errors keep their code', async tt => {
  const { exec, runtime, list } = setup(tt)
  exec.responder = c => {
    if (c.type === 'meta')
      throw new DriverError('NDRA_CNI_TIMEOUT', 'plugin /fake/bin/meta did not finish')
    return result('1.1.0', '10.0.0.2/24')
  }
  const err = await runtime.add(list, rt).catch((e: unknown) => e)
  tt.equal((err as DriverError).code, 'NDRA_CNI_TIMEOUT')
  tt.equal(
    (err as Error).message,
    'plugin type="meta" name="net" failed (add): plugin /fake/bin/meta did not finish',
  )
  exec.responder = () => 'not json'
  tt.match(await runtime.add(list, rt).catch((e: unknown) => e), { code: 'NDRA_CNI_RESULT' })
  const missing = parseConfList({ cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'nope' }] })
  tt.match(await runtime.add(missing, rt).catch((e: unknown) => e), {
    code: 'NDRA_CNI_PLUGIN_NOT_FOUND',
    message: /failed \(add\): failed to find plugin "nope"/,
  })
})

t.test('VERSION probe', async tt => {
  const { exec, runtime } = setup(tt)
  exec.responder = () => ({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] })
  tt.same(await runtime.version('main'), {
    cniVersion: '1.0.0',
    supportedVersions: ['0.4.0', '1.0.0'],
  })
  const c = exec.calls[0]
  tt.same(c?.stdin, { cniVersion: '1.1.0' })
  tt.same(
    [c?.env['CNI_COMMAND'], c?.env['CNI_NETNS'], c?.env['CNI_IFNAME'], c?.env['CNI_PATH']],
    ['VERSION', 'dummy', 'dummy', 'dummy'],
  )
  exec.responder = () => {
    throw new PluginFailure({ cniCode: 4, msg: 'unknown CNI_COMMAND: VERSION' })
  }
  tt.same(await runtime.version('main'), { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] })
  exec.responder = () => ({ cniVersion: '0.2.0' })
  tt.same((await runtime.version('main')).supportedVersions, ['0.1.0', '0.2.0'])
  exec.responder = () => ({ cniVersion: '1.0.0' })
  await tt.rejects(runtime.version('main'), /missing field supportedVersions/)
  exec.responder = () => ({})
  await tt.rejects(runtime.version('main'), /missing field cniVersion/)
  exec.responder = () => {
    throw new PluginFailure({ cniCode: 1, msg: 'boom' })
  }
  await tt.rejects(runtime.version('main'), { cniCode: 1, message: /failed \(version\): boom/ })
})

t.test(
  'operations on one attachment never overlap; different attachments run in parallel',
  async tt => {
    const { exec, runtime, list } = setup(tt)
    let active = 0
    let maxActive = 0
    const one = parseConfList({ cniVersion: '1.1.0', name: 'net', plugins: [{ type: 'main' }] })
    const slowExec = exec.execPlugin.bind(exec)
    exec.execPlugin = async (...args) => {
      active++
      maxActive = Math.max(maxActive, active)
      await new Promise(r => setTimeout(r, 20))
      active--
      return slowExec(...args)
    }
    await Promise.all([runtime.add(one, rt), runtime.del(one, rt), runtime.add(one, rt)])
    tt.equal(maxActive, 1, 'same attachment serialised')
    maxActive = 0
    await Promise.all([1, 2, 3].map(i => runtime.add(one, { ...rt, containerId: `p${i}` })))
    tt.equal(maxActive, 3, 'distinct attachments concurrent')
    tt.ok(list)
  },
)

t.test('constructor rejects a non-positive timeout', async tt => {
  tt.throws(() => new CniRuntime({ binDirs: [], cacheDir: '/x', pluginTimeoutMs: 0 }), {
    code: 'NDRA_INVALID_ARGUMENT',
  })
})
