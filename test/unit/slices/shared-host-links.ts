// Invariant: the --shared-host-links value is parsed strictly — a JSON list of {pattern, capacity}
// with a valid regular expression and a whole capacity 1..4096, unknown keys refused, every problem
// reported — and a link's capacity comes from the first rule that matches its name.
import t from 'tap'
import {
  MAX_SHARED_LINK_CAPACITY,
  parseSharedHostLinks,
  sharedCapacityOf,
} from '../../../src/slices/shared-host-links.js'

const rows: { name: string; text: string; rules: [string, number][]; problems: RegExp[] }[] = [
  { name: 'empty = none', text: '', rules: [], problems: [] },
  { name: 'blank = none', text: '  ', rules: [], problems: [] },
  {
    name: 'two rules',
    text: '[{"pattern":"^ndra-shared[0-9]$","capacity":3},{"pattern":"^eth1$","capacity":64}]',
    rules: [
      ['^ndra-shared[0-9]$', 3],
      ['^eth1$', 64],
    ],
    problems: [],
  },
  { name: 'not JSON', text: '^eth1$=3', rules: [], problems: [/is not JSON/] },
  { name: 'not a list', text: '{"pattern":"x","capacity":1}', rules: [], problems: [/JSON list/] },
  {
    name: 'entry not an object',
    text: '["eth1"]',
    rules: [],
    problems: [/\[0\]: must be an object/],
  },
  {
    name: 'bad regular expression',
    text: '[{"pattern":"(eth","capacity":2}]',
    rules: [],
    problems: [/\[0\]\.pattern: "\(eth" is not a valid regular expression/],
  },
  {
    name: 'empty pattern',
    text: '[{"pattern":"","capacity":2}]',
    rules: [],
    problems: [/\[0\]\.pattern: must be a non-empty/],
  },
  {
    name: 'capacity 0, fractional, too large, a string: each reported',
    text: `[{"pattern":"a","capacity":0},{"pattern":"b","capacity":1.5},{"pattern":"c","capacity":${MAX_SHARED_LINK_CAPACITY + 1}},{"pattern":"d","capacity":"3"}]`,
    rules: [],
    problems: [/\[0\]\.capacity/, /\[1\]\.capacity/, /\[2\]\.capacity/, /\[3\]\.capacity/],
  },
  {
    name: 'unknown key refused, the valid rule kept',
    text: '[{"pattern":"a","capacity":2,"master":"eth0"}]',
    rules: [['a', 2]],
    problems: [/\[0\]: unknown keys master/],
  },
]

for (const row of rows) {
  t.test(row.name, async t => {
    const got = parseSharedHostLinks(row.text)
    t.same(
      got.rules.map(r => [r.pattern.source, r.capacity]),
      row.rules,
    )
    t.equal(got.problems.length, row.problems.length, got.problems.join('; '))
    row.problems.forEach((re, i) => t.match(got.problems[i], re))
  })
}

t.test('first matching rule wins; no match = not shared', async t => {
  const { rules } = parseSharedHostLinks(
    '[{"pattern":"^ndra-shared0$","capacity":3},{"pattern":"^ndra-","capacity":8}]',
  )
  t.equal(sharedCapacityOf(rules, 'ndra-shared0'), 3)
  t.equal(sharedCapacityOf(rules, 'ndra-shared1'), 8)
  t.equal(sharedCapacityOf(rules, 'eth0'), undefined)
  t.equal(sharedCapacityOf([], 'ndra-shared0'), undefined)
  // Repeated tests give the same answer (no stateful global regex).
  t.equal(sharedCapacityOf(rules, 'ndra-shared0'), 3)
})
