// Invariant: an abortable call settles with the call's outcome, or with the abort reason as soon as
// the signal fires, whichever comes first.
import t from 'tap'
import { abortable } from '../../../src/kube/abortable.js'

const cases = [
  { name: 'resolves', call: () => Promise.resolve(1), abortAfterMs: -1, want: { value: 1 } },
  {
    name: 'rejects',
    call: () => Promise.reject(new Error('api')),
    abortAfterMs: -1,
    want: { error: 'api' },
  },
  {
    name: 'non-error rejection',
    // A non-Error rejection is the case under test: abortable must wrap it in an Error.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    call: () => Promise.reject('str'),
    abortAfterMs: -1,
    want: { error: 'str' },
  },
  {
    name: 'already aborted',
    call: () => Promise.resolve(1),
    abortAfterMs: 0,
    want: { error: 'deadline' },
  },
  {
    name: 'aborted while waiting',
    call: () =>
      new Promise(r => {
        setTimeout(() => {
          r(1)
        }, 200)
      }),
    abortAfterMs: 10,
    want: { error: 'deadline' },
  },
] as const

for (const c of cases) {
  t.test(c.name, async t => {
    const ac = new AbortController()
    if (c.abortAfterMs === 0) ac.abort(new Error('deadline'))
    else if (c.abortAfterMs > 0)
      setTimeout(() => {
        ac.abort(new Error('deadline'))
      }, c.abortAfterMs)
    try {
      t.same({ value: await abortable(c.call() as Promise<number>, ac.signal) }, c.want)
    } catch (err) {
      t.same({ error: (err as Error).message }, c.want)
    }
  })
}
