// Invariant: a failed attach produces one core/v1 Warning event on the pod with reason
// NetworkAttachFailed and the CNI error as message (bounded), a claim refused for no container
// using it one with reason NetworkClaimUnreferenced, and recording never throws.
import t from 'tap'
import { MAX_EVENT_MESSAGE, PodEventRecorder } from '../../../src/status/pod-events.js'
import { silentLogger } from '../../../src/logger.js'
import { FakeClock } from '../../fakes/kube-clock.js'
import { FakeStatusClient } from '../../fakes/kube-status-client.js'

const pod = { namespace: 'ns', name: 'p', uid: 'pu' }
const what = {
  claim: 'c',
  request: 'net',
  device: 'attachment-0',
  message: 'plugin type="bridge" failed (add): boom',
}

t.test('event shape', async t => {
  const client = new FakeStatusClient()
  const r = new PodEventRecorder({
    client,
    driverName: 'network-dra.dev',
    nodeName: 'node-a',
    clock: new FakeClock(),
    logger: silentLogger(),
  })
  await r.attachFailed(pod, what)
  t.same(client.events, [
    {
      namespace: 'ns',
      event: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: 'p.', namespace: 'ns' },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'ns', uid: 'pu' },
        reason: 'NetworkAttachFailed',
        message: 'claim c request net (attachment-0): plugin type="bridge" failed (add): boom',
        type: 'Warning',
        source: { component: 'network-dra.dev', host: 'node-a' },
        firstTimestamp: '2026-01-02T03:04:05Z',
        lastTimestamp: '2026-01-02T03:04:05Z',
        count: 1,
        reportingComponent: 'network-dra.dev',
        reportingInstance: 'node-a',
      },
    },
  ])
})

t.test('long messages are bounded; API failures are swallowed (logged)', async t => {
  const client = new FakeStatusClient()
  const r = new PodEventRecorder({
    client,
    driverName: 'd',
    nodeName: 'n',
    clock: new FakeClock(),
    logger: silentLogger(),
  })
  const e = r.buildAttachFailed(pod, { ...what, message: 'x'.repeat(5000) })
  t.equal(e.message.length, MAX_EVENT_MESSAGE)
  t.ok(e.message.endsWith('...'))
  client.failures = [500]
  await r.attachFailed(pod, what)
  t.equal(client.events.length, 0)
})

t.test('an unreferenced claim: Warning NetworkClaimUnreferenced with the text as is', async t => {
  const client = new FakeStatusClient()
  const r = new PodEventRecorder({
    client,
    driverName: 'd',
    nodeName: 'n',
    clock: new FakeClock(),
    logger: silentLogger(),
  })
  await r.claimUnreferenced(pod, 'network-dra policy [unreferenced-claim] pod p …')
  t.match(client.events, [
    {
      namespace: 'ns',
      event: {
        reason: 'NetworkClaimUnreferenced',
        type: 'Warning',
        message: 'network-dra policy [unreferenced-claim] pod p …',
        involvedObject: { kind: 'Pod', name: 'p', uid: 'pu' },
      },
    },
  ])
  client.failures = [500]
  await r.claimUnreferenced(pod, 'x')
  t.equal(client.events.length, 1, 'a failed create is swallowed')
})
