// Invariant: the status apply body has the shape the apiserver validates (one entry per device,
// Ready condition, data ≤10 KiB, networkData within limits), transition times only move when
// readiness flips, and writes retry transient failures (including a JSON patch that lost a
// resourceVersion race) with backoff but not final ones.
import t from 'tap'
import {
  ClaimStatusWriter,
  isAllocationReencodeRefusal,
  boundedNetworkData,
  buildStatusApply,
  kubeTime,
  trimCniResult,
  type DeviceStatus,
} from '../../../src/status/claim-status.js'
import { httpStatusOf, isRetryable } from '../../../src/status/http-status.js'
import { DriverError } from '../../../src/errors.js'
import { silentLogger } from '../../../src/logger.js'
import { FakeClock } from '../../fakes/kube-clock.js'
import { FakeStatusClient } from '../../fakes/kube-status-client.js'

const claim = { namespace: 'ns', name: 'c', uid: 'u1', generation: 2 }
const result = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/proc/1/ns/net' }],
  ips: [{ address: '10.9.0.5/24', interface: 0 }],
}
/** lastTransitionTime of the first device's condition in an apply body. */
function cond(body: unknown): string {
  const b = body as { status: { devices: { conditions: { lastTransitionTime: string }[] }[] } }
  return b.status.devices[0]!.conditions[0]!.lastTransitionTime
}

const ready: DeviceStatus = {
  pool: 'node-a',
  device: 'attachment-0',
  ready: true,
  reason: 'NetworkReady',
  message: 'net1 attached',
  result,
  networkData: {
    interfaceName: 'net1',
    ips: ['10.9.0.5/24'],
    hardwareAddress: '02:00:00:00:00:01',
  },
}

t.test('apply body shape', async t => {
  const body = buildStatusApply(
    claim,
    'network-dra.dev',
    [
      ready,
      {
        pool: 'node-a',
        device: 'attachment-1',
        shareID: 's',
        ready: false,
        reason: 'NetworkAttachFailed',
        message: 'boom',
      },
    ],
    () => '2026-01-02T03:04:05Z',
  )
  t.same(body, {
    apiVersion: 'resource.k8s.io/v1',
    kind: 'ResourceClaim',
    metadata: { name: 'c', namespace: 'ns', uid: 'u1' },
    status: {
      devices: [
        {
          driver: 'network-dra.dev',
          pool: 'node-a',
          device: 'attachment-0',
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'NetworkReady',
              message: 'net1 attached',
              lastTransitionTime: '2026-01-02T03:04:05Z',
              observedGeneration: 2,
            },
          ],
          data: result,
          networkData: {
            interfaceName: 'net1',
            ips: ['10.9.0.5/24'],
            hardwareAddress: '02:00:00:00:00:01',
          },
        },
        {
          driver: 'network-dra.dev',
          pool: 'node-a',
          device: 'attachment-1',
          shareID: 's',
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'NetworkAttachFailed',
              message: 'boom',
              lastTransitionTime: '2026-01-02T03:04:05Z',
              observedGeneration: 2,
            },
          ],
        },
      ],
    },
  })
})

t.test('kubeTime drops milliseconds', async t => {
  t.equal(kubeTime(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05Z')
})

t.test('trimCniResult keeps ≤10 KiB, trimming least useful parts first', async t => {
  t.same(trimCniResult(result), result, 'small result untouched')
  const routes = Array.from({ length: 400 }, (_, i) => ({
    dst: `10.${i % 250}.0.0/16`,
    gw: '10.9.0.1',
  }))
  const big = {
    ...result,
    routes,
    dns: { nameservers: Array.from({ length: 10 }, () => '1.1.1.1'), search: ['x'.repeat(200)] },
  }
  const t1 = trimCniResult(big)
  t.ok(Buffer.byteLength(JSON.stringify(t1)) <= 10240)
  t.equal(t1['routes'], undefined)
  t.equal(t1['truncated'], true)
  t.same(t1['ips'], result.ips)
  const onlyDns = trimCniResult({ ...result, dns: { search: ['y'.repeat(11000)] } })
  t.same(onlyDns, { ...result, truncated: true }, 'dropping dns suffices')
  const huge = trimCniResult({
    cniVersion: '1.0.0',
    ips: Array.from({ length: 2000 }, () => ({ address: '10.0.0.1/24' })),
  })
  t.same(huge, { cniVersion: '1.0.0', truncated: true })
  const ifaces = trimCniResult(
    { ...result, interfaces: Array.from({ length: 400 }, () => ({ name: 'x'.repeat(30) })) },
    2000,
  )
  t.same(ifaces, { cniVersion: '1.0.0', ips: result.ips, truncated: true })
})

t.test('boundedNetworkData', async t => {
  const ips = Array.from({ length: 20 }, (_, i) => `10.0.0.${i}/24`)
  t.same(
    boundedNetworkData({
      interfaceName: 'x'.repeat(257),
      ips: [...ips, ips[0]!],
      hardwareAddress: 'h'.repeat(129),
    }),
    { ips: ips.slice(0, 16) },
  )
  t.same(boundedNetworkData({ ips: [] }), {})
})

t.test('writer: field manager, retries with backoff, transition time stability', async t => {
  const client = new FakeStatusClient()
  const clock = new FakeClock()
  const w = new ClaimStatusWriter({
    client,
    driverName: 'network-dra.dev',
    clock,
    logger: silentLogger(),
  })
  client.failures = [500, 409, 429]
  await w.write(claim, [ready])
  t.same(clock.sleeps, [200, 400, 800])
  t.equal(client.applies.length, 1)
  t.equal(client.applies[0]?.fieldManager, 'network-dra.dev')
  const firstTime = cond(client.applies[0]?.body)
  t.equal(firstTime, '2026-01-02T03:04:05Z')
  await clock.advance(60_000)
  await w.write(claim, [ready])
  t.equal(cond(client.applies[1]?.body), firstTime, 'same readiness keeps the time')
  await w.write(claim, [{ ...ready, ready: false, reason: 'NetworkAttachFailed', message: 'x' }])
  t.not(cond(client.applies[2]?.body), firstTime, 'flip moves it')
  w.forget('u1')
  await clock.advance(1_000)
  await w.write(claim, [{ ...ready, ready: false, reason: 'NetworkAttachFailed', message: 'x' }])
  t.not(cond(client.applies[3]?.body), cond(client.applies[2]?.body), 'forgotten → new time')
})

t.test('writer: final errors are not retried; attempts are bounded', async t => {
  const client = new FakeStatusClient()
  const clock = new FakeClock()
  const w = new ClaimStatusWriter({
    client,
    driverName: 'd',
    clock,
    logger: silentLogger(),
    maxAttempts: 3,
    baseDelayMs: 100,
    maxDelayMs: 150,
  })
  client.failures = [422]
  await t.rejects(w.write(claim, [ready]), {
    code: 'NDRA_KUBE_API',
    message: /writing status of ResourceClaim ns\/c: HTTP 422/,
  })
  t.same(clock.sleeps, [])
  client.failures = [503, 503, 503, 503]
  await t.rejects(w.write(claim, [ready]), DriverError)
  t.same(clock.sleeps, [100, 150])
  t.equal(client.applies.length, 0)
})

t.test('http status helpers', async t => {
  t.equal(httpStatusOf(new DriverError('NDRA_KUBE_API', 'x', { cause: { code: 404 } })), 404)
  t.equal(httpStatusOf(new Error('net')), undefined)
  t.equal(httpStatusOf({ code: 'ECONNRESET' }), undefined)
  t.ok(isRetryable(new Error('net')))
  t.notOk(isRetryable({ code: 403 }))
  t.ok(isRetryable({ code: 502 }))
})

t.test('allocation re-encode refusal: the messages of kube-apiserver 1.35 and 1.37', async t => {
  const cases: readonly { what: string; code: number; msg: string; want: boolean }[] = [
    {
      what: '1.35',
      code: 422,
      msg: 'ResourceClaim "c" is invalid: status.allocation: Invalid value: {...}: field is immutable',
      want: true,
    },
    {
      what: '1.37',
      code: 422,
      msg: 'ResourceClaim.resource.k8s.io "c" is invalid: status.allocation: Invalid value: null: field cannot be modified once set',
      want: true,
    },
    {
      what: 'another field',
      code: 422,
      msg: 'status.devices[0].device: Invalid value: "x": must be an allocated device',
      want: false,
    },
    { what: 'not 422', code: 409, msg: 'status.allocation: field is immutable', want: false },
  ]
  for (const c of cases) {
    t.equal(
      isAllocationReencodeRefusal(Object.assign(new Error(c.msg), { code: c.code })),
      c.want,
      c.what,
    )
  }
})

t.test(
  'writer: apply refused for allocation re-encoding → JSON patch keeping other drivers',
  async t => {
    const client = new FakeStatusClient()
    const clock = new FakeClock()
    const w = new ClaimStatusWriter({
      client,
      driverName: 'network-dra.dev',
      clock,
      logger: silentLogger(),
    })
    client.stored = {
      resourceVersion: '42',
      devices: [
        { driver: 'gpu.example.com', pool: 'p', device: 'g0' },
        { driver: 'network-dra.dev', pool: 'node-a', device: 'attachment-9' },
      ],
    }
    client.errors = [
      Object.assign(
        new Error(
          'ResourceClaim "c" is invalid: status.allocation: Invalid value: {...}: field is immutable',
        ),
        { code: 422 },
      ),
    ]
    await w.write(claim, [ready])
    t.equal(client.applies.length, 0)
    t.equal(client.jsonPatches.length, 1)
    const ops = client.jsonPatches[0]?.ops as { op: string; path: string; value: unknown }[]
    t.same(ops[0], { op: 'test', path: '/metadata/resourceVersion', value: '42' })
    t.equal(ops[1]?.op, 'add')
    t.equal(ops[1]?.path, '/status/devices')
    t.same(
      (ops[1]?.value as { driver: string; device: string }[]).map(d => `${d.driver}/${d.device}`),
      ['gpu.example.com/g0', 'network-dra.dev/attachment-0'],
    )
    t.same(clock.sleeps, [], 'the switch is not a retry')
    await w.write(claim, [ready])
    t.equal(client.applies.length, 0, 'claim stays on JSON patch')
    t.equal(client.jsonPatches.length, 2)
    client.failures = [422]
    await t.rejects(w.write(claim, [ready]), { code: 'NDRA_KUBE_API' })
  },
)

t.test('writer: a JSON patch whose resourceVersion test fails is re-read and retried', async t => {
  // The apiserver's answer to a failed `test` op: 422 Invalid, no details.
  const testOpFailed = (): Error =>
    Object.assign(new Error('the server rejected our request due to an error in our request'), {
      code: 422,
    })
  class RacingClient extends FakeStatusClient {
    /** Patches that lose a race with another writer (who bumps the resourceVersion). */
    races = 0
    override jsonPatchStatus(
      ...args: Parameters<FakeStatusClient['jsonPatchStatus']>
    ): Promise<void> {
      if (this.races > 0) {
        this.races--
        const rv = String(Number(this.stored.resourceVersion) + 1)
        this.stored = { ...this.stored, resourceVersion: rv }
        return Promise.reject(testOpFailed())
      }
      return super.jsonPatchStatus(...args)
    }
  }
  const client = new RacingClient()
  const clock = new FakeClock()
  const w = new ClaimStatusWriter({
    client,
    driverName: 'network-dra.dev',
    clock,
    logger: silentLogger(),
    baseDelayMs: 100,
  })
  client.stored = { resourceVersion: '42', devices: [] }
  client.errors = [
    Object.assign(new Error('status.allocation: Invalid value: {...}: field is immutable'), {
      code: 422,
    }),
  ]
  client.races = 2
  await w.write(claim, [ready])
  t.same(clock.sleeps, [100, 200], 'two conflicts, two backoffs')
  t.equal(client.jsonPatches.length, 1)
  const ops = client.jsonPatches[0]?.ops as { value: unknown }[]
  t.equal(ops[0]?.value, '44', 'the patch that landed tested the latest resourceVersion')

  // Same 422 with the resourceVersion unchanged: the API refused the body; no retry.
  client.errors = [testOpFailed()]
  await t.rejects(w.write(claim, [ready]), {
    code: 'NDRA_KUBE_API',
    message: /rejected our request/,
  })
  t.same(clock.sleeps, [100, 200], 'no retry for a refused body')
})

// Invariant: reconcile makes this driver's entries equal to the wanted ones and nothing else: a
// wiped status is restored, an equal one (timestamps aside) is left alone, an entry of a device no
// longer held is removed while other drivers' entries stay, the server's transition time is kept,
// and a resourceVersion race (422 from the `test` op) is retried.
t.test('writer: reconcile', async t => {
  const D = 'network-dra.dev'
  const mk = () => {
    const client = new FakeStatusClient()
    const clock = new FakeClock()
    const w = new ClaimStatusWriter({ client, driverName: D, clock, logger: silentLogger() })
    return { client, clock, w }
  }
  const wanted = (time: string): Record<string, unknown>[] =>
    (
      buildStatusApply(claim, D, [ready], () => time)['status'] as {
        devices: Record<string, unknown>[]
      }
    ).devices
  const other = { driver: 'gpu.example.com', pool: 'p', device: 'gpu-0' }
  const patched = (client: FakeStatusClient, i = 0): Record<string, unknown>[] =>
    (client.jsonPatches[i]?.ops as { value?: Record<string, unknown>[] }[])[1]!.value!

  const cases = [
    {
      name: 'wiped by a user: restored',
      stored: [other],
      want: 'written',
      devices: [other, ...wanted('2026-01-02T03:04:05Z')],
    },
    {
      name: 'equal apart from the timestamp: unchanged',
      stored: [other, ...wanted('2020-01-01T00:00:00Z')],
      want: 'unchanged',
    },
    {
      name: 'stale entry and one of a device no longer held: replaced, time of the server kept',
      stored: [
        ...wanted('2020-01-01T00:00:00Z').map(d => ({
          ...d,
          networkData: { ips: ['10.0.0.1/24'] },
        })),
        { driver: D, pool: 'node-a', device: 'attachment-7' },
        other,
      ],
      want: 'written',
      devices: [other, ...wanted('2020-01-01T00:00:00Z')],
    },
  ]
  for (const c of cases) {
    const { client, w } = mk()
    client.stored = { resourceVersion: '7', devices: c.stored }
    t.equal(await w.reconcile(claim, async () => [ready]), c.want, c.name)
    if (c.want === 'unchanged') {
      t.same(client.jsonPatches, [], `${c.name}: no write`)
      continue
    }
    t.same(patched(client), c.devices, c.name)
    t.same(
      (client.jsonPatches[0]?.ops as unknown[])[0],
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      `${c.name}: guarded by the resourceVersion`,
    )
  }

  const { client, clock, w } = mk()
  client.stored = { resourceVersion: '1', devices: [] }
  client.failures = [422]
  t.equal(await w.reconcile(claim, async () => [ready]), 'written', 'a lost race is retried')
  t.same(clock.sleeps, [200])
  const released = mk()
  released.client.stored = { resourceVersion: '1', devices: [] }
  t.equal(
    await released.w.reconcile(claim, async () => undefined),
    'gone',
    'claim no longer held when re-checked after the read: nothing written',
  )
  t.same(released.client.jsonPatches, [])
  const gone = mk()
  gone.client.readStatusDevices = () =>
    Promise.reject(Object.assign(new Error('nf'), { code: 404 }))
  await t.rejects(
    gone.w.reconcile(claim, async () => [ready]),
    { code: 'NDRA_KUBE_API' },
  )
})
