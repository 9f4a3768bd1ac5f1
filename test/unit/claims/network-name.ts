// Invariant: derived names are prefixed `ndra.` and encode the origin without ambiguity (tenant
// names have no dots), and only prefixed names count as the driver's for GC.
import t from 'tap'
import {
  derivedNetworkName,
  isDriverNetworkName,
  tenantNetworkNameProblem,
} from '../../../src/claims/network-name.js'

t.test('derivedNetworkName', async t => {
  const cases = [
    { o: { source: 'class', namespace: 'a', name: 'corp' }, want: 'ndra.class.corp' },
    { o: { source: 'claim', namespace: 'a', name: 'corp' }, want: 'ndra.ns.a.corp' },
    { o: { source: 'claim', namespace: 'b', name: 'cbr0' }, want: 'ndra.ns.b.cbr0' },
  ] as const
  for (const c of cases) t.equal(derivedNetworkName(c.o), c.want, c.want)
})

t.test('tenantNetworkNameProblem', async t => {
  const cases: [string, boolean][] = [
    ['blue', true],
    ['a_b-c9', true],
    ['9', true],
    ['n'.repeat(63), true],
    ['n'.repeat(64), false],
    ['a.b', false],
    ['-a', false],
    ['', false],
    ['ndra.class.x', false],
    ['a/b', false],
  ]
  for (const [name, ok] of cases) {
    t.equal(tenantNetworkNameProblem(name) === undefined, ok, `${JSON.stringify(name)} ok=${ok}`)
  }
})

t.test('isDriverNetworkName', async t => {
  const cases: [string, boolean][] = [
    ['ndra.ns.a.b', true],
    ['ndra.class.x', true],
    ['cbr0', false],
    ['ndra-x', false],
    ['NDRA.ns.a.b', false],
  ]
  for (const [name, want] of cases) t.equal(isDriverNetworkName(name), want, name)
})
