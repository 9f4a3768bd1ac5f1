// Invariant: whole-call faults map to one gRPC status each, through the single mapping function,
// and the driver's code and message reach the kubelet in the details.
import t from 'tap'
import { status } from '@grpc/grpc-js'
import { DriverError, type ErrorCode } from '../../../src/errors.js'
import { toGrpcStatus, toServiceError } from '../../../src/kubelet/grpc-status.js'

const byCode: [ErrorCode, status][] = [
  ['NDRA_INVALID_ARGUMENT', status.INVALID_ARGUMENT],
  ['NDRA_INVALID_CONFIG', status.FAILED_PRECONDITION],
  ['NDRA_CLAIM_NOT_FOUND', status.NOT_FOUND],
  ['NDRA_CLAIM_NOT_ALLOCATED', status.FAILED_PRECONDITION],
  ['NDRA_CLAIM_NOT_PREPARED', status.FAILED_PRECONDITION],
  ['NDRA_CLAIM_IN_USE', status.FAILED_PRECONDITION],
  ['NDRA_POLICY_VIOLATION', status.PERMISSION_DENIED],
  ['NDRA_OPAQUE_CONFIG', status.INVALID_ARGUMENT],
  ['NDRA_STATE_LOCK', status.UNAVAILABLE],
  ['NDRA_SHUTTING_DOWN', status.UNAVAILABLE],
  ['NDRA_KUBE_API', status.UNAVAILABLE],
  ['NDRA_CNI_TIMEOUT', status.DEADLINE_EXCEEDED],
  ['NDRA_HOOK_TIMEOUT', status.DEADLINE_EXCEEDED],
  ['NDRA_STATE_CORRUPT', status.INTERNAL],
  ['NDRA_INTERNAL', status.INTERNAL],
]

t.test('DriverError codes', async t => {
  for (const [code, want] of byCode) {
    const got = toGrpcStatus(new DriverError(code, 'msg'))
    t.equal(got.code, want, code)
    t.equal(got.details, `${code}: msg`)
  }
})

t.test('other values', async t => {
  const cases: { name: string; err: unknown; code: status; details: string }[] = [
    {
      name: 'timeout',
      err: new DOMException('late', 'TimeoutError'),
      code: status.DEADLINE_EXCEEDED,
      details: 'late',
    },
    {
      name: 'abort',
      err: new DOMException('gone', 'AbortError'),
      code: status.CANCELLED,
      details: 'gone',
    },
    { name: 'plain Error', err: new Error('boom'), code: status.INTERNAL, details: 'boom' },
    { name: 'string', err: 'weird', code: status.INTERNAL, details: 'weird' },
    { name: 'undefined', err: undefined, code: status.INTERNAL, details: 'undefined' },
  ]
  for (const tc of cases)
    t.same(toGrpcStatus(tc.err), { code: tc.code, details: tc.details }, tc.name)
})

t.test('service error carries code, details and metadata', async t => {
  const e = toServiceError(new DriverError('NDRA_SHUTTING_DOWN', 'bye'))
  t.equal(e.code, status.UNAVAILABLE)
  t.equal(e.details, 'NDRA_SHUTTING_DOWN: bye')
  t.equal(e.message, 'NDRA_SHUTTING_DOWN: bye')
  t.ok(e.metadata)
})
