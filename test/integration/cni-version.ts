// Invariant: the prepare-time cniVersion check asks the node's real plugin binaries (Debian's
// containernetworking-plugins in /usr/lib/cni) with CNI VERSION through the real runtime: a
// version they list passes, `99.0.0` and a version the driver knows but the plugins do not list
// (1.1.0, newer than these plugins) are refused naming the plugin and what
// it supports; each binary is asked once, and again after it changes on disk. (The plan builder
// refuses versions unknown to the driver before this check; here 99.0.0 reaches the plugins.)
import { copyFile, mkdir, mkdtemp, rm, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { AttachmentPlan } from '../../src/attach/attachment-plan.js'
import { formatProblem } from '../../src/claims/policy-rules.js'
import { ProcessExec, type CniExec, type ExecOptions } from '../../src/cni/exec.js'
import { PluginVersions } from '../../src/cni/plugin-versions.js'
import { CniRuntime } from '../../src/cni/runtime.js'
import { CniVersionCheck } from '../../src/driver/cni-version-check.js'

const SYSTEM_PLUGINS = '/usr/lib/cni'

/** Counts VERSION runs per plugin path, passing every run to the real executor. */
class CountingExec implements CniExec {
  readonly versionRuns: string[] = []
  readonly inner = new ProcessExec()
  findInPath(type: string, dirs: readonly string[]): Promise<string> {
    return this.inner.findInPath(type, dirs)
  }
  execPlugin(
    path: string,
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<Uint8Array> {
    if (env['CNI_COMMAND'] === 'VERSION') this.versionRuns.push(path)
    return this.inner.execPlugin(path, stdin, env, opts)
  }
  runCommand(
    argv: readonly string[],
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<string> {
    return this.inner.runCommand(argv, env, opts)
  }
}

const plan = (cniVersion: string, plugins: Record<string, unknown>[]): AttachmentPlan => ({
  request: 'net',
  pool: 'node',
  device: 'attachment-0',
  networkConfig: { cniVersion, name: 'ndra.ns.a.blue', plugins },
  ifName: 'net1',
  capabilityArgs: {},
  cniArgs: [],
})
const bridge = [{ type: 'bridge', bridge: 'x', ipam: { type: 'host-local' } }]

t.test('cniVersion against the real plugins', async t => {
  const tmp = await mkdtemp(join(tmpdir(), 'ndra-cv-'))
  t.teardown(() => rm(tmp, { recursive: true, force: true }))
  // A private copy of one plugin, first in the path, so the test may change it on disk.
  const bin = join(tmp, 'bin')
  await mkdir(bin)
  await copyFile(join(SYSTEM_PLUGINS, 'macvlan'), join(bin, 'macvlan'))
  const exec = new CountingExec()
  const runtime = new CniRuntime({
    binDirs: [bin, SYSTEM_PLUGINS],
    cacheDir: join(tmp, 'cache'),
    pluginTimeoutMs: 10_000,
    exec,
  })
  const check = new CniVersionCheck({
    versions: new PluginVersions({ runtime, timeoutMs: 5_000 }),
  })
  const signal = AbortSignal.timeout(60_000)
  const text = async (p: AttachmentPlan): Promise<string[]> =>
    (await check.problems([p], signal)).map(formatProblem)

  const info = await runtime.version('bridge')
  t.comment(`/usr/lib/cni/bridge supports ${info.supportedVersions.join(', ')}`)
  t.ok(info.supportedVersions.includes('1.0.0'), 'the Debian plugins speak 1.0.0')

  t.same(await text(plan('1.0.0', bridge)), [], '1.0.0: bridge and host-local list it')
  t.same(await text(plan('0.4.0', bridge)), [], '0.4.0 too')

  const future = await text(plan('99.0.0', bridge))
  t.equal(future.length, 1)
  t.match(
    future[0],
    /^network-dra policy \[cni-version\] request "net" \(device attachment-0\) network\.cniVersion: "99\.0\.0" is not supported by plugin "bridge"/,
  )
  t.comment(future[0] ?? '')

  const unlisted = await text(plan('1.1.0', bridge))
  t.equal(unlisted.length, 1)
  t.notOk(info.supportedVersions.includes('1.1.0'), 'these plugins predate spec 1.1.0')
  t.match(
    unlisted[0],
    /"1\.1\.0" is not supported by plugin "bridge" \(\/usr\/lib\/cni\/bridge supports [0-9., ]*1\.0\.0\)/,
    '1.1.0: refused, naming the plugin and its versions',
  )
  t.comment(unlisted[0] ?? '')

  t.same(
    exec.versionRuns.filter(p => p.endsWith('/bridge')),
    [join(SYSTEM_PLUGINS, 'bridge'), join(SYSTEM_PLUGINS, 'bridge')],
    'bridge was asked once by the runtime call above and once by the cache, never again',
  )

  const macvlan = [{ type: 'macvlan', master: 'x', ipam: { type: 'host-local' } }]
  t.same(await text(plan('1.0.0', macvlan)), [])
  t.same(await text(plan('1.0.0', macvlan)), [])
  t.same(
    exec.versionRuns.filter(p => p.endsWith('/macvlan')),
    [join(bin, 'macvlan')],
    'the first binary in the path is asked, once',
  )
  const later = new Date(Date.now() + 60_000)
  await utimes(join(bin, 'macvlan'), later, later)
  t.same(await text(plan('1.0.0', macvlan)), [])
  t.equal(
    exec.versionRuns.filter(p => p.endsWith('/macvlan')).length,
    2,
    'a changed binary (mtime) is asked again',
  )

  await t.rejects(
    check.problems([plan('1.0.0', [{ type: 'no-such-plugin' }])], signal),
    { code: 'NDRA_CNI_PLUGIN_NOT_FOUND' },
    'a missing plugin fails the check',
  )
})
