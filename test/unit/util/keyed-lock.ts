// Invariant: per key, an exclusive holder runs alone and shared holders run together but never with
// an exclusive one; waiters are served in arrival order, other keys are not blocked, a failing
// holder still releases, several keys are taken without deadlock, and a released key is forgotten.
import t from 'tap'
import { KeyedLock } from '../../../src/util/keyed-lock.js'

/** A task that records its start and end and finishes when `done()` is called. */
function gate(log: string[], name: string): { fn: () => Promise<string>; done: () => void } {
  let done: () => void = () => undefined
  const finished = new Promise<void>(resolve => {
    done = resolve
  })
  return {
    fn: async () => {
      log.push(`start ${name}`)
      await finished
      log.push(`end ${name}`)
      return name
    },
    done: () => {
      done()
    },
  }
}

const tick = (): Promise<void> =>
  new Promise(resolve => {
    setImmediate(resolve)
  })

t.test('exclusive holders of one key run one after another, in arrival order', async t => {
  const lock = new KeyedLock()
  const log: string[] = []
  const a = gate(log, 'a')
  const b = gate(log, 'b')
  const c = gate(log, 'c')
  const pa = lock.exclusive('k', a.fn)
  const pb = lock.exclusive('k', b.fn)
  const pc = lock.exclusive('k', c.fn)
  await tick()
  t.same(log, ['start a'])
  c.done()
  b.done()
  a.done()
  t.same(await Promise.all([pa, pb, pc]), ['a', 'b', 'c'])
  t.same(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  t.equal(lock.size, 0, 'key forgotten once released')
})

t.test('different keys run in parallel', async t => {
  const lock = new KeyedLock()
  const log: string[] = []
  const a = gate(log, 'a')
  const b = gate(log, 'b')
  const pa = lock.exclusive('k1', a.fn)
  const pb = lock.exclusive('k2', b.fn)
  await tick()
  t.same(log, ['start a', 'start b'])
  t.equal(lock.size, 2)
  a.done()
  b.done()
  await Promise.all([pa, pb])
  t.equal(lock.size, 0)
})

t.test('shared holders overlap; an exclusive waiter blocks later shared ones', async t => {
  const lock = new KeyedLock()
  const log: string[] = []
  const r1 = gate(log, 'r1')
  const r2 = gate(log, 'r2')
  const w = gate(log, 'w')
  const r3 = gate(log, 'r3')
  const all = [
    lock.shared('k', r1.fn),
    lock.shared('k', r2.fn),
    lock.exclusive('k', w.fn),
    lock.shared('k', r3.fn),
  ]
  await tick()
  t.same(log, ['start r1', 'start r2'], 'readers together, writer waits')
  r1.done()
  await tick()
  t.same(log, ['start r1', 'start r2', 'end r1'], 'writer waits for the last reader')
  r2.done()
  await tick()
  t.same(log.slice(3), ['end r2', 'start w'], 'writer alone; the later reader queues behind it')
  w.done()
  r3.done()
  await Promise.all(all)
  t.same(log.slice(5), ['end w', 'start r3', 'end r3'])
  t.equal(lock.size, 0)
})

t.test('a failing holder releases the key for the next one', async t => {
  const lock = new KeyedLock()
  await t.rejects(
    lock.exclusive('k', () => Promise.reject(new Error('boom'))),
    { message: 'boom' },
  )
  t.equal(await lock.exclusive('k', () => Promise.resolve('next')), 'next')
  t.equal(lock.size, 0)
})

t.test('exclusiveAll takes overlapping sets in sorted order without deadlock', async t => {
  const lock = new KeyedLock()
  const log: string[] = []
  const a = gate(log, 'a')
  const b = gate(log, 'b')
  const pa = lock.exclusiveAll(['y', 'x', 'x'], a.fn)
  const pb = lock.exclusiveAll(['x', 'y'], b.fn)
  await tick()
  t.same(log, ['start a'], 'the second set waits for the first')
  t.equal(lock.size, 2, 'duplicates collapse to one key each')
  a.done()
  b.done()
  t.same(await Promise.all([pa, pb]), ['a', 'b'])
  t.equal(lock.size, 0)
})

t.test('exclusiveAll of no keys just runs', async t => {
  const lock = new KeyedLock()
  t.equal(await lock.exclusiveAll([], () => Promise.resolve(1)), 1)
})
