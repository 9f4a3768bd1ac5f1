// Invariant: only registration sockets of this driver that accept a connection count as live
// peer instances; our own socket, a leftover socket file nobody listens on, other drivers' sockets
// and other files do not.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer, type Server } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isRegistrationSocketName, livePeerInstances } from '../../../src/kubelet/peer-instances.js'

const D = 'network-dra.dev'

t.test('isRegistrationSocketName', async t => {
  const cases = [
    { name: `${D}-reg.sock`, want: true },
    { name: `${D}-0f1e-reg.sock`, want: true },
    { name: 'other.dev-0f1e-reg.sock', want: false },
    { name: `${D}.sock`, want: false },
  ]
  for (const c of cases) t.equal(isRegistrationSocketName(c.name, D), c.want, c.name)
})

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(path, () => {
      resolve(s)
    })
  })
}

t.test('livePeerInstances', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-peers-'))
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const own = join(dir, `${D}-me-reg.sock`)
  const peer = join(dir, `${D}-peer-reg.sock`)
  const servers = [await listen(own), await listen(peer), await listen(join(dir, 'x.dev-reg.sock'))]
  // A socket file whose listener is gone (killed instance): close without unlinking.
  const dead = join(dir, `${D}-dead-reg.sock`)
  const d = await listen(dead)
  await new Promise<void>(r =>
    d.close(() => {
      r()
    }),
  )
  await writeFile(dead, '')
  await writeFile(join(dir, `${D}-file-reg.sock`), 'not a socket')
  t.teardown(() => Promise.all(servers.map(s => new Promise(r => s.close(r)))))
  t.same(await livePeerInstances({ registrarDir: dir, driverName: D, ownSocket: own }), [peer])
  t.same(
    await livePeerInstances({ registrarDir: join(dir, 'missing'), driverName: D, ownSocket: own }),
    [],
  )
})
