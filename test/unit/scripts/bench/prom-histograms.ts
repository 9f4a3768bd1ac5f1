// Invariant: histograms are read from the text exposition as prom-client writes it (escaped label
// values included), summed over the series that match, differenced between snapshots, and their
// quantiles estimated as PromQL's histogram_quantile does; malformed lines are errors.
import t from 'tap'
import { Histogram as PromHistogram, Registry } from 'prom-client'
import {
  EMPTY,
  add,
  histogram,
  mean,
  parseSamples,
  quantile,
  subtract,
} from '../../../../scripts/bench/lib/prom-histograms.js'

const text = `# HELP h_seconds a histogram
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1",op="a"} 1
h_seconds_bucket{le="1",op="a"} 3
h_seconds_bucket{le="+Inf",op="a"} 4
h_seconds_sum{op="a"} 7.5
h_seconds_count{op="a"} 4
h_seconds_bucket{le="0.1",op="b"} 2
h_seconds_bucket{le="1",op="b"} 2
h_seconds_bucket{le="+Inf",op="b"} 2
h_seconds_sum{op="b"} 0.1
h_seconds_count{op="b"} 2
other_total{path="a\\"b\\\\c\\nd"} 5 1700000000000
`

t.test('parse samples', async t => {
  const s = parseSamples(text)
  t.equal(s.length, 11)
  t.same(s[2], { name: 'h_seconds_bucket', labels: { le: '+Inf', op: 'a' }, value: 4 })
  t.same(s[10], { name: 'other_total', labels: { path: 'a"b\\c\nd' }, value: 5 })
  t.same(parseSamples('up 1\n\n'), [{ name: 'up', labels: {}, value: 1 }])
  t.throws(() => parseSamples('{x="1"} 2'), SyntaxError)
  t.throws(() => parseSamples('m{x=1} 2'), /bad labels/)
  t.throws(() => parseSamples('m{x="1} 2'), /unterminated/)
})

t.test('select, sum and subtract', async t => {
  const all = parseSamples(text)
  const cases = [
    {
      name: 'one series',
      match: { op: 'a' },
      want: {
        buckets: [
          [0.1, 1],
          [1, 3],
          [Infinity, 4],
        ],
        sum: 7.5,
        count: 4,
      },
    },
    {
      name: 'all series summed',
      match: {},
      want: {
        buckets: [
          [0.1, 3],
          [1, 5],
          [Infinity, 6],
        ],
        sum: 7.6,
        count: 6,
      },
    },
    { name: 'no series', match: { op: 'z' }, want: { buckets: [], sum: 0, count: 0 } },
  ]
  for (const c of cases) t.same(histogram(all, 'h_seconds', c.match), c.want, c.name)
  const before = histogram(all, 'h_seconds', { op: 'b' })
  const after = histogram(all, 'h_seconds')
  t.same(subtract(after, before), histogram(all, 'h_seconds', { op: 'a' }))
  t.same(subtract(before, histogram(all, 'h_seconds', { op: 'z' })), before, 'from nothing')
  t.same(add(histogram(all, 'h_seconds', { op: 'a' }), before), after, 'add undoes subtract')
  t.same(add(EMPTY, before), before, 'empty on the left')
  t.same(add(before, EMPTY), before, 'empty on the right')
  t.equal(mean(histogram(all, 'h_seconds', { op: 'a' })), 1.875)
  t.equal(mean(histogram(all, 'h_seconds', { op: 'z' })), null)
})

t.test('quantile estimates', async t => {
  const h = {
    buckets: [
      [0.1, 2],
      [0.5, 6],
      [1, 8],
      [Infinity, 10],
    ] as const,
    sum: 0,
    count: 10,
  }
  const cases = [
    { name: 'inside the first bucket, from 0', q: 0.1, want: 0.05 },
    { name: 'interpolated in (0.1, 0.5]', q: 0.4, want: 0.3 },
    { name: 'exact bound', q: 0.8, want: 1 },
    { name: '+Inf bucket gives the highest finite bound', q: 0.99, want: 1 },
  ]
  for (const c of cases) t.ok(Math.abs((quantile(h, c.q) ?? NaN) - c.want) < 1e-9, c.name)
  t.equal(quantile({ buckets: [], sum: 0, count: 0 }, 0.5), null)
  t.throws(() => quantile(h, 0), RangeError)
})

t.test("prom-client's own output", async t => {
  const registry = new Registry()
  const h = new PromHistogram({
    name: 'x_seconds',
    help: 'x',
    labelNames: ['phase'],
    buckets: [0.01, 0.1, 1],
    registers: [registry],
  })
  for (const v of [0.005, 0.05, 0.05, 0.5]) h.observe({ phase: 'write' }, v)
  h.observe({ phase: 'lock' }, 2)
  const got = histogram(parseSamples(await registry.metrics()), 'x_seconds', { phase: 'write' })
  t.equal(got.count, 4)
  t.ok(Math.abs(got.sum - 0.605) < 1e-9)
  t.same(got.buckets, [
    [0.01, 1],
    [0.1, 3],
    [1, 4],
    [Infinity, 4],
  ])
  t.ok(Math.abs((quantile(got, 0.5) ?? NaN) - 0.055) < 1e-9, 'median inside (0.01, 0.1]')
})
