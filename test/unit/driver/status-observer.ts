// Invariant: each allocated device's claim status follows its latest attachment record (Pending
// with none, NetworkAttachFailed when failed, NetworkReady with networkData when attached); a
// failed attach also posts a pod Warning when the pod is known; a status write failure is logged,
// never thrown; an unknown claim writes nothing.
import t from 'tap'
import type { AttachmentPlan } from '../../../src/attach/attachment-plan.js'
import { StatusObserver, deviceStatuses } from '../../../src/driver/status-observer.js'
import { silentLogger } from '../../../src/logger.js'
import type { AttachmentRecord, ClaimRecord } from '../../../src/state/state-types.js'

const plan = (device: string): AttachmentPlan =>
  ({ request: 'net', pool: 'node-1', device, ifName: 'net1' }) as unknown as AttachmentPlan

const att = (over: Partial<AttachmentRecord>): AttachmentRecord => ({
  sandboxId: 'sb1',
  podUid: 'pu1',
  podName: 'p1',
  podNamespace: 'ns',
  request: 'net',
  device: 'attachment-0',
  ifName: 'net1',
  netns: '/proc/1/ns/net',
  networkName: 'n',
  phase: 'attached',
  result: {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/proc/1/ns/net' }],
    ips: [{ address: '10.0.0.5/24', interface: 0 }],
  },
  updatedAt: '2026-01-01T00:00:00Z',
  ...over,
})

/** A failed attachment: no CNI result. */
const failed = (over: Partial<AttachmentRecord> = {}): AttachmentRecord =>
  Object.fromEntries(
    Object.entries(att({ phase: 'failed', ...over })).filter(([k]) => k !== 'result'),
  ) as unknown as AttachmentRecord

const record = (attachments: AttachmentRecord[]): ClaimRecord => ({
  uid: 'u1',
  namespace: 'ns',
  name: 'c1',
  plans: [plan('attachment-0')],
  cdiDeviceIds: ['x'],
  attachments,
  preparedAt: '2026-01-01T00:00:00Z',
})

t.test('deviceStatuses', async t => {
  const cases = [
    { name: 'no attachment yet', atts: [], want: { ready: false, reason: 'Pending' } },
    {
      name: 'failed',
      atts: [failed({ error: 'macvlan: no master' })],
      want: { ready: false, reason: 'NetworkAttachFailed', message: 'macvlan: no master' },
    },
    {
      name: 'latest record wins (failed then attached)',
      atts: [
        failed({ updatedAt: '2026-01-01T00:00:00Z' }),
        att({ updatedAt: '2026-01-01T00:00:05Z' }),
      ],
      want: { ready: true, reason: 'NetworkReady', message: 'net1 attached to pod ns/p1' },
    },
    {
      name: 'other devices are ignored',
      atts: [att({ device: 'attachment-9' })],
      want: { ready: false, reason: 'Pending' },
    },
  ]
  for (const c of cases) {
    const [st] = deviceStatuses(record(c.atts))
    t.match(st, { pool: 'node-1', device: 'attachment-0', ...c.want }, c.name)
  }
  const [ready] = deviceStatuses(record([att({})]))
  t.same(ready?.networkData?.ips, ['10.0.0.5/24'])
  t.equal(ready?.networkData?.interfaceName, 'net1')
})

function observer(claims: Record<string, ClaimRecord>, writeFails = false) {
  const writes: unknown[] = []
  const events: unknown[] = []
  const warnings: unknown[] = []
  const logger = silentLogger()
  logger.warn = (o: unknown) => {
    warnings.push(o)
  }
  const obs = new StatusObserver({
    claims: { claim: uid => claims[uid] },
    writer: {
      write: async (ref, devices) => {
        if (writeFails) throw new Error('apiserver down')
        writes.push({ ref, devices })
      },
    },
    events: {
      attachFailed: async (pod, ev) => {
        events.push({ pod, ev })
      },
    },
    logger,
  })
  return { obs, writes, events, warnings }
}

const base = {
  claimUid: 'u1',
  claimNamespace: 'ns',
  claimName: 'c1',
  request: 'net',
  device: 'attachment-0',
}
const pod = { sandboxId: 'sb1', podUid: 'pu1', podName: 'p1', podNamespace: 'ns' }

t.test('onAttached writes the claim status', async t => {
  const { obs, writes, events } = observer({ u1: record([att({})]) })
  await obs.onAttached({ ...base, pod, ifName: 'net1', result: {}, interfaceName: 'net1', ips: [] })
  t.match(writes, [{ ref: { namespace: 'ns', name: 'c1', uid: 'u1' }, devices: [{ ready: true }] }])
  t.same(events, [])
})

t.test('onAttachFailed writes status and posts a pod event only for a known pod', async t => {
  const { obs, writes, events } = observer({
    u1: record([failed()]),
  })
  await obs.onAttachFailed({ ...base, pod, code: 'NDRA_CNI_PLUGIN', message: 'boom' })
  await obs.onAttachFailed({ ...base, code: 'NDRA_POD_RESOLVE', message: 'no pod' })
  t.equal(writes.length, 2)
  t.same(events, [
    {
      pod: { namespace: 'ns', name: 'p1', uid: 'pu1' },
      ev: { claim: 'ns/c1', request: 'net', device: 'attachment-0', message: 'boom' },
    },
  ])
})

t.test('a failed status write is logged, not thrown; an unknown claim writes nothing', async t => {
  const failing = observer({ u1: record([]) }, true)
  await failing.obs.onAttached({
    ...base,
    pod,
    ifName: 'net1',
    result: {},
    interfaceName: 'net1',
    ips: [],
  })
  t.match(failing.warnings, [{ claimUID: 'u1', err: 'apiserver down' }])
  const unknown = observer({})
  await unknown.obs.onAttached({
    ...base,
    pod,
    ifName: 'net1',
    result: {},
    interfaceName: 'net1',
    ips: [],
  })
  t.same(unknown.writes, [])
})
