// Invariant: timed() reports the seconds a step took from the injected clock, once, whether the
// step resolves or rejects, and passes the result or the error through unchanged.
import t from 'tap'
import { timed } from '../../../src/util/timed.js'

const cases = [
  { name: 'resolves', fail: false },
  { name: 'rejects', fail: true },
]
for (const c of cases) {
  t.test(c.name, async t => {
    let now = 1000
    const seen: number[] = []
    const step = async (): Promise<string> => {
      now += 250
      if (c.fail) throw new Error('boom')
      return 'ok'
    }
    const run = timed(
      step,
      s => seen.push(s),
      () => now,
    )
    if (c.fail) await t.rejects(run, { message: 'boom' })
    else t.equal(await run, 'ok')
    t.same(seen, [0.25])
  })
}
