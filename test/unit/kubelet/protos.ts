// Invariant: the loaded definitions expose exactly the full method paths the kubelet dials, a v1
// reply carrying share_id decodes cleanly with the v1beta1 definition (same field numbers), and the
// device health messages of v1 and v1alpha1 use kubelet v0.37.2's field numbers (message = 5).
import { pathToFileURL } from 'node:url'
import { join, resolve } from 'node:path'
import t from 'tap'
import {
  DRA_SERVICE_VERSIONS,
  defaultProtoRoot,
  loadKubeletProtos,
} from '../../../src/kubelet/protos.js'

const protos = loadKubeletProtos()

t.test('full method paths', async t => {
  const cases = [
    {
      svc: protos.registration,
      method: 'GetInfo',
      path: '/pluginregistration.Registration/GetInfo',
    },
    {
      svc: protos.registration,
      method: 'NotifyRegistrationStatus',
      path: '/pluginregistration.Registration/NotifyRegistrationStatus',
    },
    {
      svc: protos.draV1,
      method: 'NodePrepareResources',
      path: '/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/NodePrepareResources',
    },
    {
      svc: protos.draV1,
      method: 'NodeUnprepareResources',
      path: '/k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin/NodeUnprepareResources',
    },
    {
      svc: protos.draV1beta1,
      method: 'NodePrepareResources',
      path: '/k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin/NodePrepareResources',
    },
    {
      svc: protos.draV1beta1,
      method: 'NodeUnprepareResources',
      path: '/k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin/NodeUnprepareResources',
    },
    {
      svc: protos.draHealthV1,
      method: 'NodeWatchResources',
      path: '/v1.DRAResourceHealth/NodeWatchResources',
      responseStream: true,
    },
    {
      svc: protos.draHealthV1alpha1,
      method: 'NodeWatchResources',
      path: '/v1alpha1.DRAResourceHealth/NodeWatchResources',
      responseStream: true,
    },
    { svc: protos.grpcHealth, method: 'Check', path: '/grpc.health.v1.Health/Check' },
    {
      svc: protos.grpcHealth,
      method: 'Watch',
      path: '/grpc.health.v1.Health/Watch',
      responseStream: true,
    },
  ]
  for (const c of cases) {
    const m = c.svc[c.method]
    t.equal(m?.path, c.path, c.path)
    t.equal(m?.requestStream, false, `${c.path} request is unary`)
    t.equal(m?.responseStream, c.responseStream ?? false, `${c.path} response streaming`)
  }
  t.same(Object.keys(protos.registration).sort(), ['GetInfo', 'NotifyRegistrationStatus'])
  t.same(Object.keys(protos.draV1).sort(), ['NodePrepareResources', 'NodeUnprepareResources'])
  t.same(DRA_SERVICE_VERSIONS, {
    v1: 'v1.DRAPlugin',
    v1beta1: 'v1beta1.DRAPlugin',
    healthV1: 'v1.DRAResourceHealth',
    healthV1alpha1: 'v1alpha1.DRAResourceHealth',
  })
})

t.test('device health messages use the upstream field numbers on v1 and v1alpha1', async t => {
  const msg = {
    devices: [
      {
        device: { poolName: 'p', deviceName: 'd' },
        health: 'UNHEALTHY',
        lastUpdatedTime: 1,
        healthCheckTimeoutSeconds: 30,
        message: 'm',
      },
    ],
  }
  // devices=1 { device=1 { pool_name=1 "p", device_name=2 "d" }, health=2 (UNHEALTHY=2),
  // last_updated_time=3, health_check_timeout_seconds=4, message=5 }
  const want = [
    0x0a, 17, 0x0a, 6, 0x0a, 1, 0x70, 0x12, 1, 0x64, 0x10, 2, 0x18, 1, 0x20, 30, 0x2a, 1, 0x6d,
  ]
  for (const svc of [protos.draHealthV1, protos.draHealthV1alpha1]) {
    const m = svc.NodeWatchResources!
    t.same([...m.responseSerialize(msg)], want, m.path)
    t.same([...m.requestSerialize({})], [], `${m.path} request is empty`)
  }
})

t.test('registration messages use the upstream field numbers', async t => {
  const info = protos.registration.GetInfo!.responseSerialize({
    type: 'DRAPlugin',
    name: 'd',
    endpoint: '/e',
    supportedVersions: ['v1.DRAPlugin'],
  })
  // field 1 "DRAPlugin", field 2 "d", field 3 "/e", field 4 "v1.DRAPlugin" (tag bytes 0x0a 0x12 0x1a 0x22)
  t.same(
    [...info],
    [
      0x0a,
      9,
      ...Buffer.from('DRAPlugin'),
      0x12,
      1,
      0x64,
      0x1a,
      2,
      ...Buffer.from('/e'),
      0x22,
      12,
      ...Buffer.from('v1.DRAPlugin'),
    ],
  )
  const status = protos.registration.NotifyRegistrationStatus!.requestSerialize({
    pluginRegistered: true,
    error: 'x',
  })
  t.same([...status], [0x08, 1, 0x12, 1, 0x78])
})

t.test('v1 reply with share_id decodes with v1beta1 and back', async t => {
  const v1 = protos.draV1.NodePrepareResources!
  const beta = protos.draV1beta1.NodePrepareResources!
  const reply = {
    claims: {
      'uid-1': {
        devices: [
          {
            requestNames: ['net'],
            poolName: 'node-a',
            deviceName: 'attachment-0',
            cdiDeviceIds: ['network-dra.dev/net=uid-1-attachment-0'],
            shareId: 'share-1',
          },
          { requestNames: [], poolName: 'node-a', deviceName: 'attachment-1', cdiDeviceIds: [] },
        ],
        error: '',
      },
      'uid-2': { devices: [], error: 'boom' },
    },
  }
  const bytes = v1.responseSerialize(reply)
  t.ok(bytes.includes(Buffer.from('share-1')), 'share_id is on the wire')
  const asBeta = beta.responseDeserialize(bytes) as typeof reply
  t.same(asBeta, {
    claims: {
      'uid-1': {
        devices: [
          {
            requestNames: ['net'],
            poolName: 'node-a',
            deviceName: 'attachment-0',
            cdiDeviceIds: ['network-dra.dev/net=uid-1-attachment-0'],
          },
          { requestNames: [], poolName: 'node-a', deviceName: 'attachment-1', cdiDeviceIds: [] },
        ],
        error: '',
      },
      'uid-2': { devices: [], error: 'boom' },
    },
  })
  t.notOk('shareId' in (asBeta.claims['uid-1'].devices[0] as object), 'unknown field 5 dropped')
  const back = v1.responseDeserialize(beta.responseSerialize(asBeta)) as typeof reply
  t.notOk(
    'shareId' in (back.claims['uid-1'].devices[0] as object),
    'absent share_id stays absent (presence)',
  )
  const again = v1.responseDeserialize(bytes) as typeof reply
  t.equal(again.claims['uid-1'].devices[0]!.shareId, 'share-1')
  // Requests are identical on both versions.
  const req = { claims: [{ namespace: 'ns', uid: 'u', name: 'n' }] }
  t.same([...beta.requestSerialize(req)], [...v1.requestSerialize(req)])
})

t.test('proto root is found from src and from dist', async t => {
  const root = resolve(import.meta.dirname, '../../..')
  const fromSrc = pathToFileURL(join(root, 'src/kubelet/protos.ts')).href
  const fromDist = pathToFileURL(join(root, 'dist/src/kubelet/protos.js')).href
  t.equal(defaultProtoRoot(fromSrc), join(root, 'proto'))
  t.equal(defaultProtoRoot(fromDist), join(root, 'proto'))
  t.throws(() => defaultProtoRoot('file:///nonexistent/a/b.js'), { code: 'NDRA_INTERNAL' })
  t.equal(loadKubeletProtos(join(root, 'proto')), protos, 'loaded once per root')
  t.throws(() => loadKubeletProtos('/nonexistent-proto-root'), { code: 'NDRA_INTERNAL' })
})
