// Invariant: sortKeys orders object keys at every depth, keeps array order and leaves scalars alone.
import t from 'tap'
import { sortKeys } from '../../../src/util/sort-keys.js'

const cases = [
  { name: 'scalar', in: 3, want: '3' },
  {
    name: 'nested',
    in: { b: 1, a: { d: [{ z: 1, y: 2 }], c: null } },
    want: '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
  },
  { name: 'array order kept', in: [2, 1], want: '[2,1]' },
]
for (const c of cases) t.test(c.name, async t => t.equal(JSON.stringify(sortKeys(c.in)), c.want))
