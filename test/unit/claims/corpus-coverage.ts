// Invariant: the hostile corpus covers every claim rule of the rule table (unreferenced-claim is
// about the pod, not the claim's parameters), its ids are unique kebab-case, every case sets
// exactly one of parameters/parametersJson (valid JSON), and host-interface cases name a decoy.
import t from 'tap'
import { RULE_IDS } from '../../../src/claims/policy-rules.js'
import { BENIGN_CASES, CORPUS_HOST_INTERFACE, HOSTILE_CASES } from '../../corpus/hostile-claims.js'

t.test('every claim rule has at least one hostile case', async t => {
  const covered = new Set(HOSTILE_CASES.map(c => c.rule))
  t.same(
    RULE_IDS.filter(r => !covered.has(r)),
    ['unreferenced-claim'],
  )
})

t.test('case shapes', async t => {
  const ids = [...HOSTILE_CASES, ...BENIGN_CASES].map(c => c.id)
  t.equal(new Set(ids).size, ids.length, 'ids are unique across hostile and benign cases')
  for (const id of ids) t.match(id, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${id} is kebab-case`)
  for (const c of HOSTILE_CASES) {
    const forms = [c.parameters, c.parametersJson].filter(v => v !== undefined).length
    t.equal(forms, 1, `${c.id}: one form of parameters`)
    if (c.parametersJson !== undefined) {
      t.doesNotThrow(() => {
        JSON.parse(c.parametersJson ?? '')
      }, `${c.id}: valid JSON`)
    }
    if (c.deviceClass === 'host-interface') t.equal(c.hostInterface, CORPUS_HOST_INTERFACE)
  }
})
