// Invariant: the state is read to EOF byte for byte, and a state over the cap is refused.
import t from 'tap'
import { Readable } from 'node:stream'
import {
  MAX_STATE_BYTES,
  StateTooLargeError,
  readAll,
  readStdin,
} from '../../../hook/read-stdin.js'

t.test('reads every chunk to EOF', async t => {
  const got = await readAll(
    Readable.from([Buffer.from('{"id":'), '"x"}', Buffer.from([0xc3, 0xa4])]),
  )
  t.same(Buffer.from(got), Buffer.concat([Buffer.from('{"id":"x"}'), Buffer.from([0xc3, 0xa4])]))
})

t.test('empty input', async t => {
  t.equal((await readAll(Readable.from([]))).length, 0)
})

t.test('over the cap', async t => {
  await t.rejects(
    readAll(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), 15),
    StateTooLargeError,
  )
  t.ok(MAX_STATE_BYTES < 4 * 1024 * 1024, 'below the plugin request body limit (4 MiB)')
})

t.test('readStdin uses Bun.stdin when running under bun', async t => {
  const g = globalThis as { Bun?: unknown }
  g.Bun = { stdin: { bytes: async () => Uint8Array.from([1, 2, 3]) } }
  t.teardown(() => {
    delete g.Bun
  })
  t.same(Array.from(await readStdin()), [1, 2, 3])
  await t.rejects(readStdin(2), StateTooLargeError)
})
