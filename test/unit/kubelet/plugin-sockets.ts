// Invariant: socket names match the Go kubeletplugin helper (fixed and rolling-update forms), bad
// inputs are refused, and only socket files are ever deleted (stale ones, and our own only while it
// is still the same file).
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import {
  pluginSocketPaths,
  removeOwnSocket,
  removeStaleSocket,
  socketIdentity,
} from '../../../src/kubelet/plugin-sockets.js'

t.test('naming table', async t => {
  const base = {
    driverName: 'network-dra.dev',
    registrarDir: '/var/lib/kubelet/plugins_registry',
    pluginsDir: '/var/lib/kubelet/plugins',
  }
  const cases = [
    {
      name: 'default',
      opts: base,
      want: {
        registrationSocket: '/var/lib/kubelet/plugins_registry/network-dra.dev-reg.sock',
        draSocket: '/var/lib/kubelet/plugins/network-dra.dev/dra.sock',
        pluginDir: '/var/lib/kubelet/plugins/network-dra.dev',
      },
    },
    {
      name: 'rolling update',
      opts: { ...base, podUid: '0b5c4a3e-1111-2222-3333-444455556666' },
      want: {
        registrationSocket:
          '/var/lib/kubelet/plugins_registry/network-dra.dev-0b5c4a3e-1111-2222-3333-444455556666-reg.sock',
        draSocket:
          '/var/lib/kubelet/plugins/network-dra.dev/dra-0b5c4a3e-1111-2222-3333-444455556666.sock',
        pluginDir: '/var/lib/kubelet/plugins/network-dra.dev',
      },
    },
    {
      name: 'custom roots, trailing slash',
      opts: { driverName: 'x.example', registrarDir: '/r/', pluginsDir: '/p' },
      want: {
        registrationSocket: '/r/x.example-reg.sock',
        draSocket: '/p/x.example/dra.sock',
        pluginDir: '/p/x.example',
      },
    },
  ]
  for (const tc of cases) t.same(pluginSocketPaths(tc.opts), tc.want, tc.name)
})

t.test('refused inputs', async t => {
  const ok = { driverName: 'd', registrarDir: '/r', pluginsDir: '/p' }
  const bad = [
    {
      name: 'relative registrar',
      opts: { ...ok, registrarDir: 'r' },
      msg: /registrarDir must be an absolute path/,
    },
    {
      name: 'relative plugins',
      opts: { ...ok, pluginsDir: 'p' },
      msg: /pluginsDir must be an absolute path/,
    },
    { name: 'slash in driver', opts: { ...ok, driverName: 'a/b' }, msg: /driver name "a\/b"/ },
    { name: 'empty driver', opts: { ...ok, driverName: '' }, msg: /driver name ""/ },
    { name: 'dot-dot pod uid', opts: { ...ok, podUid: '..' }, msg: /pod UID "\.\."/ },
    {
      name: 'too long',
      opts: { ...ok, registrarDir: '/' + 'x'.repeat(100) },
      msg: /longer than 107 bytes/,
    },
  ]
  for (const tc of bad) {
    t.throws(
      () => pluginSocketPaths(tc.opts),
      { code: 'NDRA_INVALID_CONFIG', message: tc.msg },
      tc.name,
    )
  }
})

t.test('socket file handling', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'ndra-sock-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const sock = join(dir, 's.sock')
  t.equal(await removeStaleSocket(sock), false, 'missing file is fine')

  const file = join(dir, 'plain')
  await writeFile(file, 'keep')
  await t.rejects(removeStaleSocket(file), { code: 'NDRA_INVALID_CONFIG' })
  t.equal(await readFile(file, 'utf8'), 'keep')
  await t.rejects(socketIdentity(file), { code: 'NDRA_INTERNAL' })

  const srv = createServer()
  await new Promise<void>(res => srv.listen(sock, res))
  t.teardown(
    () =>
      new Promise<void>(res =>
        srv.close(() => {
          res()
        }),
      ),
  )
  const id = await socketIdentity(sock)
  t.equal(await removeOwnSocket(sock, { dev: id.dev, ino: id.ino + 1 }), false, 'not ours: kept')
  t.equal(await removeStaleSocket(sock), true, 'stale socket removed')
  t.equal(await removeOwnSocket(sock, id), false, 'already gone')

  const srv2 = createServer()
  await new Promise<void>(res => srv2.listen(sock, res))
  t.teardown(
    () =>
      new Promise<void>(res =>
        srv2.close(() => {
          res()
        }),
      ),
  )
  t.equal(await removeOwnSocket(sock, await socketIdentity(sock)), true, 'ours: removed')
  t.equal(await removeOwnSocket(file, id), false, 'never removes a non-socket')
})
