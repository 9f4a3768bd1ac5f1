// Invariant: an allocation is identified by request, device AND share: two shares of one shared
// host link never match each other, and the allocation key (CDI device name part, hook --device)
// is the bare device name for exclusive devices and `<device>.<shareID>` for shares — distinct per
// share and a valid CDI device-name part.
import t from 'tap'
import { allocationKey, sameAllocation } from '../../../src/attach/attachment-plan.js'
import { cdiNameProblem } from '../../../src/cdi/cdi-names.js'

const A = '0b3f6a3e-2c1d-4a7e-9f00-000000000001'
const B = '0b3f6a3e-2c1d-4a7e-9f00-000000000002'

t.test('sameAllocation', async t => {
  const rows: [string, Parameters<typeof sameAllocation>[0], boolean][] = [
    ['same exclusive device', { request: 'net', device: 'attachment-0' }, true],
    ['other request', { request: 'other', device: 'attachment-0' }, false],
    ['other device', { request: 'net', device: 'attachment-1' }, false],
    [
      'a share vs the exclusive form',
      { request: 'net', device: 'attachment-0', shareID: A },
      false,
    ],
  ]
  for (const [name, other, want] of rows) {
    t.equal(sameAllocation({ request: 'net', device: 'attachment-0' }, other), want, name)
  }
  const s = { request: 'net', device: 'host-ndra-shared0' }
  t.ok(sameAllocation({ ...s, shareID: A }, { ...s, shareID: A }), 'same share')
  t.notOk(sameAllocation({ ...s, shareID: A }, { ...s, shareID: B }), 'two shares never collide')
})

t.test('allocationKey', async t => {
  t.equal(allocationKey({ device: 'attachment-3' }), 'attachment-3')
  const a = allocationKey({ device: 'host-ndra-shared0', shareID: A })
  const b = allocationKey({ device: 'host-ndra-shared0', shareID: B })
  t.equal(a, `host-ndra-shared0.${A}`)
  t.not(a, b)
  t.equal(cdiNameProblem('device', `claim-uid-${a}`), undefined, 'valid CDI device name')
})
