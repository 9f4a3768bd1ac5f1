// Invariant: the plugin environment is the parent env plus all six CNI_* variables, always present
// (even empty) and overriding inherited values — libcni's Args.AsEnv.
import t from 'tap'
import { buildPluginEnv, formatCniArgs } from '../../../src/cni/env.js'

t.test('CNI_ARGS formatting', async tt => {
  tt.equal(formatCniArgs([]), '')
  tt.equal(
    formatCniArgs([
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAME', 'web'],
    ]),
    'IgnoreUnknown=1;K8S_POD_NAME=web',
  )
})

t.test('env building', async tt => {
  const env = buildPluginEnv(
    { PATH: '/bin', CNI_NETNS: '/inherited', CNI_IFNAME: 'eth0', DROP: undefined },
    { command: 'GC', containerId: '', netns: '', ifName: '', args: [], path: ['/a', '/b'] },
  )
  tt.same(env, {
    PATH: '/bin',
    CNI_NETNS: '',
    CNI_IFNAME: '',
    CNI_COMMAND: 'GC',
    CNI_CONTAINERID: '',
    CNI_ARGS: '',
    CNI_PATH: '/a:/b',
  })
})
