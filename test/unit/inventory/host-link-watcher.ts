// Invariant: the watcher reports the first list and every change (and only changes), keeps the
// last list when the inventory fails, and stops polling when stopped.
import t from 'tap'
import { HostLinkWatcher } from '../../../src/inventory/host-link-watcher.js'
import type { HostLink } from '../../../src/inventory/host-links.js'
import { silentLogger } from '../../../src/logger.js'
import { FakeClock } from '../../fakes/kube-clock.js'

t.test('reports changes only; survives failures; stops', async t => {
  const clock = new FakeClock()
  let next: HostLink[] | Error = [{ name: 'a', state: 'up', addresses: [] }]
  let polls = 0
  const seen: string[][] = []
  const w = new HostLinkWatcher({
    source: {
      list: () => {
        polls++
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next)
      },
    },
    clock,
    logger: silentLogger(),
    intervalMs: 10_000,
    onChange: links => seen.push(links.map(l => `${l.name}:${l.state}`)),
  })
  await w.start()
  t.same(seen, [['a:up']])
  await clock.advance(10_000)
  t.same(seen, [['a:up']], 'unchanged → no report')
  next = new Error('ip failed')
  await clock.advance(10_000)
  t.same(seen, [['a:up']], 'failure keeps the last list')
  next = [
    { name: 'a', state: 'down', addresses: [] },
    { name: 'b', state: 'up', addresses: [] },
  ]
  await clock.advance(10_000)
  t.same(seen, [['a:up'], ['a:down', 'b:up']])
  w.stop()
  const before = polls
  await clock.advance(50_000)
  t.equal(polls, before, 'no polls after stop')
})

t.test('wake: one read per burst after wakeDelayMs; resync re-armed after it', async t => {
  const clock = new FakeClock()
  let state = 'up'
  let polls = 0
  const seen: string[] = []
  const w = new HostLinkWatcher({
    source: {
      list: () => {
        polls++
        return Promise.resolve([{ name: 'a', state, addresses: [] }])
      },
    },
    clock,
    logger: silentLogger(),
    intervalMs: 60_000,
    wakeDelayMs: 100,
    onChange: links => seen.push(links.map(l => l.state).join()),
  })
  w.wake()
  await clock.advance(1_000)
  t.equal(polls, 0, 'wake before start does nothing')
  await w.start()
  state = 'down'
  w.wake()
  w.wake()
  w.wake()
  await clock.advance(99)
  t.equal(polls, 1, 'not before the delay')
  await clock.advance(1)
  t.equal(polls, 2, 'one read for the burst')
  t.same(seen, ['up', 'down'])
  await clock.advance(59_999)
  t.equal(polls, 2, 'resync counted from the last read')
  await clock.advance(1)
  t.equal(polls, 3, 'resync')
  const a = w.poll()
  const b = w.poll()
  await Promise.all([a, b])
  t.equal(polls, 5, 'a read asked for during a read runs after it')
  w.wake()
  w.stop()
  await clock.advance(120_000)
  t.equal(polls, 5, 'stop cancels a pending wake and the resync')
})
