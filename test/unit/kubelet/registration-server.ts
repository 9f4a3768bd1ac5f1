// Invariant: GetInfo's answer is fixed at construction (type DRAPlugin, driver name, absolute DRA
// endpoint, the advertised services in order), bad configuration is refused up front, and
// waitRegistered explains why it timed out.
import t from 'tap'
import { silentLogger } from '../../../src/logger.js'
import { loadKubeletProtos } from '../../../src/kubelet/protos.js'
import { RegistrationServer } from '../../../src/kubelet/registration-server.js'

const base = {
  socketPath: '/tmp/unused-reg.sock',
  driverName: 'network-dra.dev',
  draEndpoint: '/var/lib/kubelet/plugins/network-dra.dev/dra.sock',
  supportedVersions: ['v1.DRAPlugin', 'v1beta1.DRAPlugin'],
  protos: loadKubeletProtos(),
  logger: silentLogger(),
}

t.test('plugin info', async t => {
  const s = new RegistrationServer(base)
  t.same(s.pluginInfo(), {
    type: 'DRAPlugin',
    name: 'network-dra.dev',
    endpoint: '/var/lib/kubelet/plugins/network-dra.dev/dra.sock',
    supportedVersions: ['v1.DRAPlugin', 'v1beta1.DRAPlugin'],
  })
  s.pluginInfo().supportedVersions.push('mutated')
  t.equal(s.pluginInfo().supportedVersions.length, 2, 'callers cannot change the answer')
  t.same(s.status(), {
    registered: false,
    lastError: '',
    updatedAt: undefined,
    notifications: 0,
    infoRequests: 0,
  })
})

t.test('refused configuration', async t => {
  t.throws(() => new RegistrationServer({ ...base, draEndpoint: 'dra.sock' }), {
    code: 'NDRA_INVALID_CONFIG',
  })
  t.throws(() => new RegistrationServer({ ...base, supportedVersions: [] }), {
    code: 'NDRA_INVALID_CONFIG',
  })
})

t.test('waitRegistered times out with a reason', async t => {
  const s = new RegistrationServer(base)
  await t.rejects(s.waitRegistered(20), {
    code: 'NDRA_KUBELET_REGISTRATION',
    message: /never called GetInfo/,
  })
})
