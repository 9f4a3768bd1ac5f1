// Invariant: under bun the connector uses Bun's native socket, writes every byte even when the
// socket accepts only part of a write (resuming on drain), reports connect failures with their
// code, and tells its user once when the connection ends; under Node it uses node:net.
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TransportError, connectUnix } from '../../../hook/unix-connection.js'

interface FakeHandlers {
  data(s: unknown, chunk: Uint8Array): void
  drain(s: unknown): void
  close(s: unknown): void
  error(s: unknown, err: unknown): void
  connectError(s: unknown, err: unknown): void
}

function fakeBun(t: Test, opts: { fail?: { code: string }; accept?: number[] }) {
  const written: number[] = []
  let handlers: FakeHandlers | undefined
  let ended = false
  const accept = [...(opts.accept ?? [])]
  const socket = {
    write(data: Uint8Array): number {
      const n = Math.min(accept.shift() ?? data.length, data.length)
      written.push(...data.subarray(0, n))
      return n
    },
    end() {
      ended = true
    },
  }
  const g = globalThis as { Bun?: unknown }
  g.Bun = {
    connect: async (o: { unix: string; socket: FakeHandlers }) => {
      handlers = o.socket
      if (opts.fail) throw Object.assign(new Error(`connect ${opts.fail.code}`), opts.fail)
      return socket
    },
  }
  t.teardown(() => {
    delete g.Bun
  })
  return {
    written,
    ended: () => ended,
    h: () => {
      if (!handlers) throw new Error('not connected')
      return handlers
    },
    socket,
  }
}

t.test('bun: partial writes resume on drain, data and close are forwarded', async t => {
  const fake = fakeBun(t, { accept: [2, 0, 1] })
  const got: number[] = []
  const closes: (TransportError | undefined)[] = []
  const conn = await connectUnix('/x.sock', {
    data: c => got.push(...c),
    close: e => closes.push(e),
  })
  conn.write(Uint8Array.from([1, 2, 3, 4, 5]))
  t.same(fake.written, [1, 2], 'first write partial')
  fake.h().drain(fake.socket) // accepts 0: still pending
  t.same(fake.written, [1, 2])
  fake.h().drain(fake.socket) // accepts 1, then the rest
  fake.h().drain(fake.socket)
  t.same(fake.written, [1, 2, 3, 4, 5])
  fake.h().data(fake.socket, Uint8Array.from([9]))
  t.same(got, [9])
  fake.h().error(fake.socket, Object.assign(new Error('reset'), { code: 'ECONNRESET' }))
  fake.h().close(fake.socket)
  t.equal(closes.length, 1, 'close reported once')
  t.match(closes[0], { code: 'ECONNRESET' })
  conn.close()
  t.ok(fake.ended())
})

t.test('bun: connect failure keeps the errno code', async t => {
  fakeBun(t, { fail: { code: 'ECONNREFUSED' } })
  await t.rejects(connectUnix('/x.sock', { data: () => undefined, close: () => undefined }), {
    name: 'TransportError',
    code: 'ECONNREFUSED',
  })
})

t.test('node: real socket round trip', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-uc-'))
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const path = join(dir, 's.sock')
  const server = createServer(s => {
    s.on('data', d => {
      s.end(d)
    })
  })
  await new Promise<void>(r => server.listen(path, r))
  t.teardown(() => server.close())
  const got: number[] = []
  const closed = new Promise<TransportError | undefined>(resolve => {
    void connectUnix(path, { data: c => got.push(...c), close: resolve }).then(c => {
      c.write(Uint8Array.from([4, 2]))
    })
  })
  t.equal(await closed, undefined)
  t.same(got, [4, 2])
  await t.rejects(
    connectUnix(join(dir, 'none.sock'), { data: () => undefined, close: () => undefined }),
    {
      code: 'ENOENT',
    },
  )
})
