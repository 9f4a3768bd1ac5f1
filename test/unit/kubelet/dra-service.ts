// Invariant: every claim of a request gets exactly one entry in the reply (missing preparer results
// and invalid claims become per-claim errors, extra results are dropped), share_id only on v1,
// whole-call faults reject, the preparer's signal fires before the kubelet deadline, and a service
// that is shutting down refuses new calls.
import t from 'tap'
import { DriverError } from '../../../src/errors.js'
import { silentLogger } from '../../../src/logger.js'
import type { ClaimRef, PrepareResult } from '../../../src/kubelet/claim-preparer.js'
import { DraService, KUBELET_CALL_TIMEOUT_MS } from '../../../src/kubelet/dra-service.js'
import { FakePreparer } from '../../fakes/kubelet-fake-preparer.js'

const c = (name: string, uid = `uid-${name}`, namespace = 'ns'): ClaimRef => ({
  namespace,
  uid,
  name,
})
const dev = (name: string, shareId?: string): PrepareResult => ({
  devices: [
    {
      requestNames: ['r'],
      poolName: 'pool',
      deviceName: name,
      cdiDeviceIds: [`network-dra.dev/net=${name}`],
      ...(shareId === undefined ? {} : { shareId }),
    },
  ],
})

function service(
  preparer: FakePreparer,
  extra: Partial<ConstructorParameters<typeof DraService>[0]> = {},
) {
  return new DraService({ preparer, logger: silentLogger(), ...extra })
}

t.test('prepare: every claim answered', async t => {
  const cases: {
    name: string
    claims: unknown[]
    results: (claims: readonly ClaimRef[]) => Map<string, PrepareResult>
    wantErrors: Record<string, RegExp | ''>
    wantPreparerUids: string[]
  }[] = [
    {
      name: 'all prepared',
      claims: [c('a'), c('b')],
      results: cs => new Map(cs.map(x => [x.uid, dev(x.name)])),
      wantErrors: { 'uid-a': '', 'uid-b': '' },
      wantPreparerUids: ['uid-a', 'uid-b'],
    },
    {
      name: 'missing result becomes internal error',
      claims: [c('a'), c('b')],
      results: () => new Map([['uid-a', dev('a')]]),
      wantErrors: {
        'uid-a': '',
        'uid-b': /^internal error: driver returned no result for claim ns\/b \(uid-b\)$/,
      },
      wantPreparerUids: ['uid-a', 'uid-b'],
    },
    {
      name: 'extra results dropped',
      claims: [c('a')],
      results: () =>
        new Map([
          ['uid-a', dev('a')],
          ['uid-zzz', dev('z')],
        ]),
      wantErrors: { 'uid-a': '' },
      wantPreparerUids: ['uid-a'],
    },
    {
      name: 'per-claim error kept, empty error text replaced',
      claims: [c('a'), c('b')],
      results: () =>
        new Map<string, PrepareResult>([
          ['uid-a', { error: 'bad config' }],
          ['uid-b', { error: '' }],
        ]),
      wantErrors: { 'uid-a': /^bad config$/, 'uid-b': /preparing claim ns\/b failed/ },
      wantPreparerUids: ['uid-a', 'uid-b'],
    },
    {
      name: 'invalid claims never reach the preparer',
      claims: [
        c('a'),
        { namespace: '', uid: 'uid-x', name: 'x' },
        { uid: 'uid-y' },
        'garbage',
        c('', 'uid-n'),
      ],
      results: cs => new Map(cs.map(x => [x.uid, dev(x.name)])),
      wantErrors: {
        'uid-a': '',
        'uid-x': /namespace required/,
        'uid-y': /namespace, name required/,
        '': /namespace, uid, name required/,
        'uid-n': /name required/,
      },
      wantPreparerUids: ['uid-a'],
    },
    {
      name: 'duplicate UIDs handed over once',
      claims: [c('a'), c('a'), { namespace: 'ns', uid: 'uid-a', name: '' }],
      results: cs => new Map(cs.map(x => [x.uid, dev(x.name)])),
      wantErrors: { 'uid-a': '' },
      wantPreparerUids: ['uid-a'],
    },
    {
      name: 'device without pool name is an internal error',
      claims: [c('a')],
      results: () =>
        new Map<string, PrepareResult>([
          [
            'uid-a',
            { devices: [{ requestNames: [], poolName: '', deviceName: 'd', cdiDeviceIds: [] }] },
          ],
        ]),
      wantErrors: { 'uid-a': /without pool or device name/ },
      wantPreparerUids: ['uid-a'],
    },
  ]
  for (const tc of cases) {
    const preparer = new FakePreparer({ prepare: tc.results })
    const svc = service(preparer)
    const reply = await svc.nodePrepareResources({ claims: tc.claims }, { version: 'v1' })
    t.same(Object.keys(reply.claims).sort(), Object.keys(tc.wantErrors).sort(), `${tc.name}: keys`)
    for (const [uid, want] of Object.entries(tc.wantErrors)) {
      const got = reply.claims[uid]
      if (want === '') {
        t.equal(got?.error, '', `${tc.name}: ${uid} ok`)
        t.equal(got?.devices.length, 1, `${tc.name}: ${uid} devices`)
      } else {
        t.match(got?.error, want, `${tc.name}: ${uid} error`)
        t.same(got?.devices, [], `${tc.name}: ${uid} no devices with an error`)
      }
    }
    t.same(
      preparer.calls.flatMap(call => call.claims.map(x => x.uid)),
      tc.wantPreparerUids,
      `${tc.name}: preparer saw`,
    )
  }
})

t.test('unprepare: every claim answered', async t => {
  const preparer = new FakePreparer({
    unprepare: () =>
      new Map([
        ['uid-a', {}],
        ['uid-b', { error: 'busy' }],
      ]),
  })
  const reply = await service(preparer).nodeUnprepareResources(
    { claims: [c('a'), c('b'), c('c'), { namespace: 'ns', uid: 'uid-d', name: '' }] },
    { version: 'v1beta1' },
  )
  t.same(reply.claims['uid-a'], { error: '' })
  t.same(reply.claims['uid-b'], { error: 'busy' })
  t.match(reply.claims['uid-c']?.error, /no result for claim ns\/c/)
  t.match(reply.claims['uid-d']?.error, /name required/)
  t.equal(Object.keys(reply.claims).length, 4)
})

t.test('empty request answers at once without calling the preparer', async t => {
  const preparer = new FakePreparer()
  const svc = service(preparer)
  t.same(await svc.nodePrepareResources({ claims: [] }, { version: 'v1' }), { claims: {} })
  t.same(await svc.nodeUnprepareResources({}, { version: 'v1' }), { claims: {} })
  t.equal(preparer.calls.length, 0)
})

t.test('share_id only on v1', async t => {
  const preparer = new FakePreparer({ prepare: () => new Map([['uid-a', dev('a', 'sh-1')]]) })
  const svc = service(preparer)
  const v1 = await svc.nodePrepareResources({ claims: [c('a')] }, { version: 'v1' })
  const beta = await svc.nodePrepareResources({ claims: [c('a')] }, { version: 'v1beta1' })
  t.equal(v1.claims['uid-a']?.devices[0]?.shareId, 'sh-1')
  t.notOk(beta.claims['uid-a']?.devices[0] && 'shareId' in beta.claims['uid-a'].devices[0])
  const noShare = new FakePreparer({ prepare: () => new Map([['uid-a', dev('a')]]) })
  const v1b = await service(noShare).nodePrepareResources({ claims: [c('a')] }, { version: 'v1' })
  t.notOk(v1b.claims['uid-a']?.devices[0] && 'shareId' in v1b.claims['uid-a'].devices[0])
})

t.test('whole-call faults reject', async t => {
  const err = new DriverError('NDRA_STATE_LOCK', 'locked')
  const svc = service(new FakePreparer({ throws: err }))
  await t.rejects(svc.nodePrepareResources({ claims: [c('a')] }, { version: 'v1' }), err)
  await t.rejects(svc.nodeUnprepareResources({ claims: [c('a')] }, { version: 'v1' }), err)
})

t.test('signal fires a margin before the deadline', async t => {
  const preparer = new FakePreparer({ waitForAbort: true })
  const svc = service(preparer, { deadlineMarginMs: 500 })
  const start = Date.now()
  await t.rejects(
    svc.nodePrepareResources({ claims: [c('a')] }, { version: 'v1', deadline: start + 1_000 }),
    { name: 'TimeoutError' },
  )
  const took = Date.now() - start
  // Lower bound: not earlier than deadline - margin; upper bound: well before the deadline.
  t.ok(took >= 495 && took < 950, `aborted after ${took} ms, before the 1000 ms deadline`)
})

t.test('no deadline means the kubelet default budget', async t => {
  let now = 1_000_000
  const preparer = new FakePreparer({ waitForAbort: true })
  const svc = service(preparer, { deadlineMarginMs: KUBELET_CALL_TIMEOUT_MS - 50, now: () => now })
  const p = svc.nodePrepareResources({ claims: [c('a')] }, { version: 'v1', deadline: Infinity })
  now += 1
  await t.rejects(p, { name: 'TimeoutError' })
  t.equal(KUBELET_CALL_TIMEOUT_MS, 45_000)
})

t.test('cancellation by the client aborts the preparer', async t => {
  const preparer = new FakePreparer({ waitForAbort: true })
  const ac = new AbortController()
  const p = service(preparer).nodePrepareResources(
    { claims: [c('a')] },
    { version: 'v1', cancelled: ac.signal },
  )
  ac.abort(new DOMException('gone', 'AbortError'))
  await t.rejects(p, { name: 'AbortError' })
})

t.test('shutdown refuses new calls and aborts stragglers after the grace period', async t => {
  const preparer = new FakePreparer({ waitForAbort: true })
  const svc = service(preparer)
  const running = svc.nodePrepareResources({ claims: [c('a')] }, { version: 'v1' })
  running.catch(() => undefined)
  t.equal(svc.inFlight, 1)
  const stopping = svc.shutdown(50)
  t.equal(svc.shuttingDown, true)
  await t.rejects(svc.nodePrepareResources({ claims: [c('b')] }, { version: 'v1' }), {
    code: 'NDRA_SHUTTING_DOWN',
  })
  await t.rejects(svc.nodeUnprepareResources({ claims: [] }, { version: 'v1' }), {
    code: 'NDRA_SHUTTING_DOWN',
  })
  await stopping
  await t.rejects(running, { code: 'NDRA_SHUTTING_DOWN' })
  t.equal(svc.inFlight, 0)
})

t.test('implementation exposes both method names', async t => {
  const svc = service(new FakePreparer())
  for (const v of ['v1', 'v1beta1'] as const) {
    t.same(Object.keys(svc.implementation(v)).sort(), [
      'NodePrepareResources',
      'NodeUnprepareResources',
    ])
  }
})
