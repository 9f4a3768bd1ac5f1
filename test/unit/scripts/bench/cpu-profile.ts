// Invariant: a CPU profile's samples are charged the time until the next sample, grouped by the
// area their frame belongs to (ours, npm package, Node internals, V8's pseudo-frames), and our
// functions' inclusive time covers everything they called.
import t from 'tap'
import { area, summarizeProfile } from '../../../../scripts/bench/lib/cpu-profile.js'

const OWN = '/app/dist/src/'

t.test('areas', async t => {
  const cases = [
    { url: '', fn: '(idle)', want: '(idle)' },
    { url: '', fn: '(garbage collector)', want: '(garbage collector)' },
    { url: '', fn: 'JSON.parse', want: '(native)' },
    { url: 'node:internal/fs/promises', fn: 'readFile', want: 'node:fs' },
    { url: 'node:fs', fn: 'x', want: 'node:fs' },
    {
      url: 'file:///app/node_modules/@grpc/grpc-js/build/src/server.js',
      fn: 'x',
      want: 'npm:@grpc/grpc-js',
    },
    { url: 'file:///app/node_modules/pino/pino.js', fn: 'x', want: 'npm:pino' },
    { url: 'file:///app/dist/src/state/store.js', fn: 'x', want: 'ours:state/store.js' },
    { url: 'file:///elsewhere/x.js', fn: 'x', want: '/elsewhere/x.js' },
  ]
  for (const c of cases) t.equal(area(c.url, c.fn, OWN), c.want, `${c.url} ${c.fn}`)
})

t.test('self, area and inclusive time', async t => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({
    functionName,
    url,
    lineNumber,
  })
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 3] },
      { id: 2, callFrame: frame('(idle)', '') },
      {
        id: 3,
        callFrame: frame('handle', 'file:///app/dist/src/attach/attacher.js', 9),
        children: [4],
      },
      { id: 4, callFrame: frame('readFile', 'node:internal/fs/promises'), children: [5] },
      { id: 5, callFrame: frame('lock', 'file:///app/node_modules/proper-lockfile/index.js') },
    ],
    samples: [2, 3, 4, 5, 2],
    timeDeltas: [0, 1000, 2000, 3000, 4000],
  }
  const s = summarizeProfile(profile, OWN)
  t.equal(s.totalMs, 10)
  t.equal(s.busyMs, 9)
  t.same(s.byArea, [
    { name: 'npm:proper-lockfile', ms: 4, pct: 40 },
    { name: 'node:fs', ms: 3, pct: 30 },
    { name: 'ours:attach/attacher.js', ms: 2, pct: 20 },
    { name: '(idle)', ms: 1, pct: 10 },
  ])
  t.same(s.topSelf[0], { name: 'lock npm:proper-lockfile:1', ms: 4, pct: 40 })
  t.same(s.topOwnInclusive, [{ name: 'handle ours:attach/attacher.js:10', ms: 9, pct: 90 }])
  t.throws(() => summarizeProfile({ ...profile, samples: [9, 9] }, OWN), /sample of unknown node 9/)
})
