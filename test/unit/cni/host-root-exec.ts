// Invariant: with a host root other than "/", plugins are looked up below the root but named and
// run by their path inside it (`<chroot> <root> <path>`), with the node's PATH and otherwise the
// exact env given; failures keep libcni's PluginFailure shape; a root of "/" runs plugins directly.
// The chroot command is faked by a script that records its argv and runs `<root><path>` (the real
// chroot is exercised by test/integration/cni-host-root.ts).
import t from 'tap'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { DriverError } from '../../../src/errors.js'
import { ProcessExec } from '../../../src/cni/exec.js'
import {
  HOST_PLUGIN_PATH,
  HostRootExec,
  cniExecForHostRoot,
} from '../../../src/cni/host-root-exec.js'
import { PluginFailure } from '../../../src/cni/plugin-failure.js'

async function script(path: string, body: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, `#!/bin/sh\n${body}\n`)
  await chmod(path, 0o755)
  return path
}

/** A stand-in for coreutils chroot: records "root path" and execs <root><path>. */
async function fakeChroot(dir: string): Promise<string> {
  return script(
    join(dir, 'fake-chroot'),
    'root=$1; shift; printf "%s %s" "$root" "$1" > "$ARGV_OUT"; p=$1; shift; exec "$root$p" "$@"',
  )
}

t.test('findInPath looks below the root and returns the path inside it', async t => {
  const dir = t.testdir()
  const root = join(dir, 'root')
  await script(join(root, 'usr/lib/cni/bridge'), 'exit 0')
  await script(join(root, 'opt/cni/bin/macvlan'), 'exit 0')
  await script(join(root, 'usr/lib/cni/macvlan'), 'exit 0')
  const exec = new HostRootExec({ root })
  const dirs = ['/nonexistent', '/opt/cni/bin', '/usr/lib/cni']
  const cases: [string, string | RegExp][] = [
    ['bridge', '/usr/lib/cni/bridge'],
    ['macvlan', '/opt/cni/bin/macvlan'],
    ['ptp', /failed to find plugin "ptp" in path/],
    ['../bridge', /invalid plugin name/],
  ]
  for (const [type, want] of cases) {
    if (typeof want === 'string') {
      t.equal(await exec.findInPath(type, dirs), want, type)
    } else {
      const err = await exec.findInPath(type, dirs).catch((e: unknown) => e)
      t.ok(err instanceof DriverError && err.code === 'NDRA_CNI_PLUGIN_NOT_FOUND', type)
      t.match((err as Error).message, want)
    }
  }
})

t.test('execPlugin runs <chroot> <root> <path> with the node PATH and the given env', async t => {
  const dir = t.testdir()
  const root = join(dir, 'root')
  await script(
    join(root, 'usr/lib/cni/bridge'),
    'cat > "$OUT.stdin"; env > "$OUT.env"; printf \'{"cniVersion":"1.0.0"}\'',
  )
  const chroot = await fakeChroot(dir)
  const exec = new HostRootExec({ root: `${root}/`, chrootCommand: [chroot] })
  t.equal(exec.root, root, 'root is normalised')
  const path = await exec.findInPath('bridge', ['/usr/lib/cni'])
  const out = await exec.execPlugin(
    path,
    Buffer.from('{"a":1}'),
    {
      ARGV_OUT: join(dir, 'argv'),
      OUT: join(dir, 'o'),
      CNI_COMMAND: 'ADD',
      PATH: '/usr/local/bin',
    },
    { timeoutMs: 5000 },
  )
  t.equal(Buffer.from(out).toString(), '{"cniVersion":"1.0.0"}')
  t.equal(await readFile(join(dir, 'argv'), 'utf8'), `${root} /usr/lib/cni/bridge`)
  t.equal(await readFile(join(dir, 'o.stdin'), 'utf8'), '{"a":1}')
  const env = (await readFile(join(dir, 'o.env'), 'utf8')).split('\n')
  t.ok(env.includes(`PATH=${HOST_PLUGIN_PATH}`), "the node's PATH replaces the daemon's")
  t.ok(env.includes('CNI_COMMAND=ADD'))
  t.notOk(
    env.some(l => l.startsWith('HOME=')),
    'nothing beyond the given env',
  )
})

t.test('a failing plugin is a PluginFailure, as with direct exec', async t => {
  const dir = t.testdir()
  const root = join(dir, 'root')
  await script(join(root, 'bin/p'), `printf '{"code":7,"msg":"bad conf"}'; exit 1`)
  const exec = new HostRootExec({ root, chrootCommand: [await fakeChroot(dir)] })
  const err = await exec
    .execPlugin('/bin/p', new Uint8Array(), { ARGV_OUT: join(dir, 'argv') }, { timeoutMs: 5000 })
    .catch((e: unknown) => e)
  t.ok(err instanceof PluginFailure)
  t.equal((err as PluginFailure).cniCode, 7)
})

t.test('cniExecForHostRoot: "/" runs directly, anything else chroots', async t => {
  const cases: [string, string][] = [
    ['/', 'direct'],
    ['//', 'direct'],
    ['/host', '/host'],
    ['/host/', '/host'],
  ]
  for (const [hostRoot, want] of cases) {
    const exec = cniExecForHostRoot(hostRoot)
    if (want === 'direct') t.ok(exec instanceof ProcessExec, `${hostRoot}: direct`)
    else t.equal(exec instanceof HostRootExec ? exec.root : '', want, `${hostRoot}: chroot`)
  }
  t.throws(() => new HostRootExec({ root: '/' }), { code: 'NDRA_INVALID_ARGUMENT' })
})

t.test('runCommand runs a node command in the root, with arguments and the node PATH', async t => {
  const dir = t.testdir()
  const root = join(dir, 'root')
  await script(join(root, 'sbin/iptables'), 'echo "$PATH $*"; [ "$1" != fail ] || exit 4')
  const exec = new HostRootExec({ root, chrootCommand: [await fakeChroot(dir)] })
  const env = { ARGV_OUT: join(dir, 'argv') }
  t.equal(
    await exec.runCommand(['/sbin/iptables', '-t', 'nat'], env, { timeoutMs: 5000 }),
    `${HOST_PLUGIN_PATH} -t nat\n`,
  )
  t.equal(await readFile(join(dir, 'argv'), 'utf8'), `${root} /sbin/iptables`)
  await t.rejects(exec.runCommand(['/sbin/iptables', 'fail'], env, { timeoutMs: 5000 }), {
    code: 'NDRA_CNI_PLUGIN',
    message: /exit 4/,
  })
})
