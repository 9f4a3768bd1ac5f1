// Invariant: whatever the reason text, the hook's failure output is exactly one line that names
// the request, device and claim.
import t from 'tap'
import { failureLine, oneLine } from '../../../hook/failure-line.js'

t.test('one line with the target', async t => {
  const line = failureLine(
    { claimUid: 'uid-1', request: 'net1', device: 'attachment-0' },
    'plugin failed:\n  no master\r\n',
  )
  t.equal(
    line,
    'network-dra: attach net1/attachment-0 for claim uid-1 failed: plugin failed: no master',
  )
  t.notMatch(line, /\n/)
})

t.test('oneLine collapses all whitespace', async t => {
  t.equal(oneLine('  a\tb\n\nc  '), 'a b c')
  t.equal(oneLine(''), '')
})
