// Invariant: the pod (sandbox id, uid, name, namespace) and the netns are resolved from the
// runtime's annotations and config.json by the documented rules, never into the host netns, and
// every unresolvable case fails with NDRA_POD_RESOLVE or NDRA_NETNS.
import t from 'tap'
import { PodResolver, identityFromAnnotations } from '../../../src/attach/pod-resolver.js'
import { DriverError } from '../../../src/errors.js'
import type { OciState } from '../../../src/attach/hook-server.js'
import { FakeBundleFs, FakeNetnsProbe } from '../../fakes/attach-netns.js'

const HOST = '/proc/1/ns/net'
const POD_NETNS = '/var/run/netns/cni-1234'

function setup(config: unknown, ids: Record<string, string>) {
  const fs = new FakeBundleFs()
  if (config !== undefined) {
    fs.files.set('/b/config.json', typeof config === 'string' ? config : JSON.stringify(config))
  }
  const probe = new FakeNetnsProbe()
  probe.ids.set(HOST, '4:1')
  for (const [k, v] of Object.entries(ids)) probe.ids.set(k, v)
  return new PodResolver({ fs, probe, hostNetnsPath: HOST })
}

const containerd = {
  'io.kubernetes.cri.container-type': 'container',
  'io.kubernetes.cri.sandbox-id': 'sb1',
  'io.kubernetes.cri.sandbox-uid': 'uid-1',
  'io.kubernetes.cri.sandbox-name': 'pod-a',
  'io.kubernetes.cri.sandbox-namespace': 'ns-a',
}
const crio = {
  'io.kubernetes.cri-o.ContainerType': 'container',
  'io.kubernetes.cri-o.SandboxID': 'sb2',
  'io.kubernetes.pod.uid': 'uid-2',
  'io.kubernetes.pod.name': 'pod-b',
  'io.kubernetes.pod.namespace': 'ns-b',
}
const podNs = (path?: string) => ({
  linux: { namespaces: [{ type: 'pid' }, { type: 'network', ...(path ? { path } : {}) }] },
})

const ok = [
  {
    name: 'containerd annotations in the state, netns path from config.json',
    state: { id: 'c1', pid: 10, bundle: '/b', annotations: containerd },
    config: podNs(POD_NETNS),
    ids: { [POD_NETNS]: '4:100', '/proc/10/ns/net': '4:100' },
    want: {
      runtime: 'containerd',
      containerType: 'container',
      sandboxId: 'sb1',
      podUid: 'uid-1',
      podName: 'pod-a',
      podNamespace: 'ns-a',
      netns: POD_NETNS,
      netnsId: '4:100',
    },
  },
  {
    name: 'CRI-O annotations',
    state: { id: 'c2', pid: 11, bundle: '/b', annotations: crio },
    config: podNs(POD_NETNS),
    ids: { [POD_NETNS]: '4:101' },
    want: {
      runtime: 'cri-o',
      containerType: 'container',
      sandboxId: 'sb2',
      podUid: 'uid-2',
      podName: 'pod-b',
      podNamespace: 'ns-b',
      netns: POD_NETNS,
      netnsId: '4:101',
    },
  },
  {
    name: 'CRI-O namespace falls back to io.kubernetes.cri-o.Namespace',
    state: {
      id: 'c2',
      pid: 11,
      bundle: '/b',
      annotations: {
        'io.kubernetes.cri-o.SandboxID': 'sb3',
        'io.kubernetes.cri-o.Namespace': 'ns-c',
      },
    },
    config: podNs(POD_NETNS),
    ids: { [POD_NETNS]: '4:101' },
    want: {
      runtime: 'cri-o',
      containerType: '',
      sandboxId: 'sb3',
      podUid: '',
      podName: '',
      podNamespace: 'ns-c',
      netns: POD_NETNS,
      netnsId: '4:101',
    },
  },
  {
    name: 'no Kubernetes annotations (podman): sandbox = container, netns of the pid',
    state: {
      id: 'podman1',
      pid: 12,
      bundle: '/b',
      annotations: { 'io.container.manager': 'libpod' },
    },
    config: podNs(),
    ids: { '/proc/12/ns/net': '4:102' },
    want: {
      runtime: 'none',
      containerType: '',
      sandboxId: 'podman1',
      podUid: '',
      podName: '',
      podNamespace: '',
      netns: '/proc/12/ns/net',
      netnsId: '4:102',
    },
  },
  {
    name: 'annotations missing from the state are read from config.json',
    state: { id: 'c1', pid: 10, bundle: '/b' },
    config: { ...podNs(POD_NETNS), annotations: containerd },
    ids: { [POD_NETNS]: '4:100' },
    want: {
      runtime: 'containerd',
      containerType: 'container',
      sandboxId: 'sb1',
      podUid: 'uid-1',
      podName: 'pod-a',
      podNamespace: 'ns-a',
      netns: POD_NETNS,
      netnsId: '4:100',
    },
  },
  {
    name: 'state annotations win over config.json',
    state: {
      id: 'c1',
      pid: 10,
      bundle: '/b',
      annotations: { ...containerd, 'io.kubernetes.cri.sandbox-id': 'sb-state' },
    },
    config: {
      ...podNs(POD_NETNS),
      annotations: { ...containerd, 'io.kubernetes.cri.sandbox-id': 'sb-file' },
    },
    ids: { [POD_NETNS]: '4:100' },
    want: {
      runtime: 'containerd',
      containerType: 'container',
      sandboxId: 'sb-state',
      podUid: 'uid-1',
      podName: 'pod-a',
      podNamespace: 'ns-a',
      netns: POD_NETNS,
      netnsId: '4:100',
    },
  },
  {
    name: 'config path no longer a netns: falls back to /proc/<pid>/ns/net',
    state: { id: 'c1', pid: 13, bundle: '/b', annotations: containerd },
    config: podNs(POD_NETNS),
    ids: { '/proc/13/ns/net': '4:103' },
    want: {
      runtime: 'containerd',
      containerType: 'container',
      sandboxId: 'sb1',
      podUid: 'uid-1',
      podName: 'pod-a',
      podNamespace: 'ns-a',
      netns: '/proc/13/ns/net',
      netnsId: '4:103',
    },
  },
  {
    name: 'missing config.json: pid netns',
    state: { id: 'c9', pid: 14, bundle: '/b' },
    config: undefined,
    ids: { '/proc/14/ns/net': '4:104' },
    want: {
      runtime: 'none',
      containerType: '',
      sandboxId: 'c9',
      podUid: '',
      podName: '',
      podNamespace: '',
      netns: '/proc/14/ns/net',
      netnsId: '4:104',
    },
  },
] as const

for (const c of ok) {
  t.test(c.name, async t => {
    const r = setup(c.config, c.ids)
    t.same(await r.resolve(c.state), c.want)
  })
}

const bad = [
  {
    name: 'host network (no network namespace in config.json)',
    state: { id: 'c1', pid: 10, bundle: '/b' },
    config: { linux: { namespaces: [{ type: 'pid' }] } },
    ids: { '/proc/10/ns/net': '4:1' },
    code: 'NDRA_NETNS',
    msg: /host network namespace/,
  },
  {
    name: 'netns is the host one',
    state: { id: 'c1', pid: 10, bundle: '/b' },
    config: podNs('/proc/1/ns/net'),
    ids: {},
    code: 'NDRA_NETNS',
    msg: /is the host network namespace/,
  },
  {
    name: 'no usable netns at all',
    state: { id: 'c1', pid: 10, bundle: '/b' },
    config: podNs(POD_NETNS),
    ids: {},
    code: 'NDRA_NETNS',
    msg: /network namespace not found \(tried \/var\/run\/netns\/cni-1234, \/proc\/10\/ns\/net\)/,
  },
  {
    name: 'no path and no pid',
    state: { id: 'c1', bundle: '/b' },
    config: podNs(),
    ids: {},
    code: 'NDRA_NETNS',
    msg: /no network namespace path/,
  },
  {
    name: 'config.json is not JSON',
    state: { id: 'c1', pid: 10, bundle: '/b' },
    config: '{nope',
    ids: {},
    code: 'NDRA_POD_RESOLVE',
    msg: /not valid JSON/,
  },
  {
    name: 'no container id',
    state: { id: '', pid: 10, bundle: '/b' },
    config: podNs(),
    ids: {},
    code: 'NDRA_POD_RESOLVE',
    msg: /no container id/,
  },
] as const

for (const c of bad) {
  t.test(c.name, async t => {
    const r = setup(c.config, c.ids)
    const err = await r.resolve(c.state as OciState).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(err instanceof DriverError)
    t.equal((err as DriverError).code, c.code)
    t.match((err as DriverError).message, c.msg)
  })
}

t.test('unreadable config.json (not ENOENT) is a resolve error', async t => {
  const probe = new FakeNetnsProbe()
  const r = new PodResolver({
    fs: { readFile: () => Promise.reject(Object.assign(new Error('EACCES'), { code: 'EACCES' })) },
    probe,
  })
  await t.rejects(r.resolve({ id: 'c', bundle: '/b', pid: 3 }), { code: 'NDRA_POD_RESOLVE' })
})

t.test('identityFromAnnotations prefers containerd over CRI-O keys', async t => {
  t.equal(identityFromAnnotations('x', { ...crio, ...containerd }).sandboxId, 'sb1')
})
