// Invariant: percentiles are nearest-rank (always a measured sample, P99 of < 100 samples is the
// maximum), the median averages the middle pair, and empty or non-finite input is refused rather
// than summarised as NaN.
import t from 'tap'
import { median, percentile, ratio, round, summarize } from '../../../../scripts/bench/lib/stats.js'

const ten = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5]
const hundred = Array.from({ length: 100 }, (_, i) => 100 - i)

t.test('percentile', async t => {
  const cases = [
    { name: 'one sample', values: [7], p: 99, want: 7 },
    { name: 'P50 of 10', values: ten, p: 50, want: 5 },
    { name: 'P90 of 10', values: ten, p: 90, want: 9 },
    { name: 'P99 of 10 is the max', values: ten, p: 99, want: 10 },
    { name: 'P1 of 100', values: hundred, p: 1, want: 1 },
    { name: 'P99 of 100', values: hundred, p: 99, want: 99 },
    { name: 'P100 of 100', values: hundred, p: 100, want: 100 },
  ]
  for (const c of cases) t.equal(percentile(c.values, c.p), c.want, c.name)
  t.throws(() => percentile([], 50), RangeError)
  t.throws(() => percentile([1], 0), RangeError)
  t.throws(() => percentile([1], 101), RangeError)
  t.throws(() => percentile([1, NaN], 50), /finite/)
})

t.test('median', async t => {
  const cases = [
    { name: 'odd', values: [3, 1, 2], want: 2 },
    { name: 'even', values: [4, 1, 3, 2], want: 2.5 },
    { name: 'one', values: [5], want: 5 },
  ]
  for (const c of cases) t.equal(median(c.values), c.want, c.name)
  t.throws(() => median([]), RangeError)
})

t.test('summarize does not reorder its input', async t => {
  const input = [...ten]
  t.same(summarize(input), { n: 10, p50: 5, p90: 9, p99: 10, max: 10, mean: 5.5 })
  t.same(input, ten)
})

t.test('round and ratio', async t => {
  t.equal(round(1.25), 1.3)
  t.equal(round(1234.5678, 2), 1234.57)
  t.equal(round(-0.04), -0)
  t.equal(ratio(3, 2), 1.5)
  t.equal(ratio(1, 3), 0.33)
  t.equal(ratio(1, 0), null)
})
