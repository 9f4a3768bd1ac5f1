// Invariant: the Helm chart renders a privileged host-network/host-PID node plugin that rolls with
// maxSurge 1 / maxUnavailable 0 at system-node-critical priority, with exact least-privilege RBAC,
// admission policies bound with Deny, DeviceClass CEL selecting this driver's device kinds, env
// vars only for values the user set, a policy file equal to the values the claim-config policy
// mirrors, an atomic hook installer, and a refusal (with a reason) for every bad value combination.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { DEFAULT_POLICY, parsePolicy } from '../../../src/claims/policy.js'
import { chart, helm, one, render, root, type Obj } from './lib/render.js'

/* eslint-disable @typescript-eslint/no-unsafe-return -- Obj is untyped rendered JSON */

function envOf(container: Obj): Record<string, Obj> {
  return Object.fromEntries((container.env as Obj[]).map(e => [e.name as string, e]))
}

if (existsSync(helm)) {
  registerTests()
} else {
  t.fail(`helm binary not found at ${helm} (set HELM to a helm v3 binary)`)
}

function registerTests(): void {
  t.test('lint --strict passes', async t => {
    const out = execFileSync(helm, ['lint', '--strict', chart], { encoding: 'utf8' })
    t.match(out, /0 chart\(s\) failed/)
  })

  t.test('defaults: DaemonSet shape', async t => {
    const r = render()
    t.ok(r.ok, r.stderr)
    const ds = one(r.objects, 'DaemonSet')
    t.same(ds.spec.updateStrategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    })
    const pod = ds.spec.template.spec
    t.equal(pod.hostNetwork, true)
    t.equal(pod.hostPID, true)
    t.equal(pod.priorityClassName, 'system-node-critical')
    t.equal(pod.dnsPolicy, 'None', 'never resolves through the node resolver')
    t.same(pod.dnsConfig, { nameservers: ['127.0.0.1'] })
    t.same(pod.tolerations, [{ operator: 'Exists' }], 'runs on every node')
    t.equal(pod.serviceAccountName, 'ndra-network-dra')
    const plugin = pod.containers.find((c: Obj) => c.name === 'plugin')
    t.equal(plugin.securityContext.privileged, true)
    t.equal(plugin.image, 'localhost/network-dra:0.1.0')
    t.same(Object.keys(envOf(plugin)).sort(), [
      'CNI_HOST_ROOT',
      'HEALTH_SOCKET',
      'NODE_NAME',
      'POD_UID',
      'POLICY_FILE',
    ])
    const env = envOf(plugin)
    t.same(env.NODE_NAME!.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } })
    t.same(env.POD_UID!.valueFrom, { fieldRef: { fieldPath: 'metadata.uid' } })
    t.equal(env.CNI_HOST_ROOT!.value, '/host', 'plugins run chrooted into the node root')
    // Rolling update with maxSurge 1: no declared (host) port, probes reach the pod's own socket.
    t.equal(plugin.ports, undefined, 'no container port: it would be a host port (hostNetwork)')
    t.equal(env.HEALTH_SOCKET!.value, '/tmp/network-dra-health.sock')
    t.same(plugin.livenessProbe.exec.command, [
      '/usr/local/bin/node',
      '/app/dist/src/probe.js',
      '/tmp/network-dra-health.sock',
      '/healthz',
      '5000',
    ])
    t.equal(plugin.readinessProbe.exec.command[3], '/readyz')
    t.equal(plugin.readinessProbe.timeoutSeconds, 5)
    t.ok(
      plugin.volumeMounts.some((m: Obj) => m.mountPath === '/tmp'),
      'the health socket lives in the pod-private /tmp',
    )
    const mounts = Object.fromEntries(plugin.volumeMounts.map((m: Obj) => [m.mountPath, m]))
    for (const p of [
      '/var/lib/kubelet/plugins_registry',
      '/var/lib/kubelet/plugins/network-dra.dev',
      '/var/run/cdi',
      '/var/lib/network-dra',
      '/run/network-dra',
      '/var/lib/cni',
      '/run/netns',
      '/host',
      '/host/var/lib/cni',
      '/host/run',
      '/host/run/netns',
    ]) {
      t.ok(mounts[p], `plugin mounts ${p}`)
    }
    t.equal(mounts['/host'].readOnly, true, 'the node root is read-only')
    t.notOk(mounts['/host'].mountPropagation, 'no propagation: works where / is private')
    t.notOk(mounts['/host/var/lib/cni'].readOnly, 'IPAM state and the cache are writable')
    t.notOk(mounts['/host/run'].readOnly, "iptables' lock is writable")
    t.equal(mounts['/host/run/netns'].mountPropagation, 'HostToContainer')
    t.notOk(mounts['/opt/cni/bin'], 'bin dirs come with the node root, not as mounts')
    const hostRoot = (pod.volumes as Obj[]).find(v => v.name === 'host-root')
    t.same(hostRoot?.hostPath, { path: '/', type: 'Directory' })
    t.equal(mounts['/run/netns'].mountPropagation, 'HostToContainer')
    t.equal(mounts['/var/run/netns'].mountPropagation, 'HostToContainer')
    t.notOk(mounts['/opt/network-dra/bin'], 'hook dir is only mounted into the init container')
    const hostPaths = Object.fromEntries(
      pod.volumes.filter((v: Obj) => v.hostPath).map((v: Obj) => [v.name, v.hostPath.path]),
    )
    t.equal(hostPaths['hook-dir'], '/opt/network-dra/bin')
    t.equal(hostPaths['hook-socket-dir'], '/run/network-dra')
    const init = pod.initContainers[0]
    t.equal(init.name, 'install-hook')
    t.same(init.volumeMounts, [{ name: 'hook-dir', mountPath: '/host-hook-dir' }])
    t.same(init.command.slice(-2), [
      '/opt/network-dra/bin/network-dra-hook',
      '/host-hook-dir/network-dra-hook',
    ])
    t.not(init.securityContext.privileged, true)
  })

  t.test('defaults: exact RBAC rules', async t => {
    const r = render()
    const role = one(r.objects, 'ClusterRole')
    t.same(role.rules, [
      {
        apiGroups: ['resource.k8s.io'],
        resources: ['resourceslices'],
        verbs: ['list', 'watch', 'create', 'update', 'delete'],
      },
      { apiGroups: ['resource.k8s.io'], resources: ['resourceclaims'], verbs: ['get'] },
      {
        apiGroups: ['resource.k8s.io'],
        resources: ['resourceclaims/status'],
        verbs: ['get', 'patch'],
      },
      {
        apiGroups: ['resource.k8s.io'],
        resources: ['resourceclaims/driver'],
        resourceNames: ['network-dra.dev'],
        verbs: ['associated-node:patch'],
      },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ])
    const binding = one(r.objects, 'ClusterRoleBinding')
    t.equal(binding.roleRef.name, role.metadata.name)
    t.same(binding.subjects, [
      { kind: 'ServiceAccount', name: 'ndra-network-dra', namespace: 'network-dra' },
    ])
    t.equal(one(r.objects, 'ServiceAccount').metadata.name, 'ndra-network-dra')
  })

  t.test('defaults: admission policies and bindings', async t => {
    const r = render()
    const policies = r.objects.filter(o => o.kind === 'ValidatingAdmissionPolicy')
    const bindings = r.objects.filter(o => o.kind === 'ValidatingAdmissionPolicyBinding')
    t.same(policies.map(p => p.metadata.name).sort(), [
      'network-dra-ndra-network-dra-claim-config',
      'network-dra-ndra-network-dra-single-pod-claims',
      'network-dra-ndra-network-dra-slices',
    ])
    for (const p of policies) {
      t.equal(p.apiVersion, 'admissionregistration.k8s.io/v1')
      t.equal(p.spec.failurePolicy, 'Fail')
      const b = bindings.find(b => b.spec.policyName === p.metadata.name)
      t.ok(b, `binding for ${p.metadata.name}`)
      t.same(b?.spec.validationActions, ['Deny'])
    }
    const slices = one(
      r.objects,
      'ValidatingAdmissionPolicy',
      'network-dra-ndra-network-dra-slices',
    )
    t.same(slices.spec.matchConstraints.resourceRules[0].operations, ['CREATE', 'UPDATE', 'DELETE'])
    t.match(
      slices.spec.matchConditions[0].expression,
      'request.userInfo.username == "system:serviceaccount:network-dra:ndra-network-dra"',
    )
    t.match(JSON.stringify(slices.spec.variables), 'authentication.kubernetes.io/node-name')
    t.match(JSON.stringify(slices.spec.variables), 'oldObject', 'DELETE checks the old object')
    const single = one(
      r.objects,
      'ValidatingAdmissionPolicy',
      'network-dra-ndra-network-dra-single-pod-claims',
    )
    t.same(single.spec.matchConstraints.resourceRules[0].resources, ['resourceclaims/status'])
    t.match(single.spec.validations[0].messageExpression, 'a network claim serves exactly one pod')
    t.match(single.spec.matchConditions[0].expression, 'r.driver == "network-dra.dev"')
    const cfg = one(
      r.objects,
      'ValidatingAdmissionPolicy',
      'network-dra-ndra-network-dra-claim-config',
    )
    t.same(cfg.spec.matchConstraints.resourceRules[0].resources, [
      'resourceclaims',
      'resourceclaimtemplates',
    ])
  })

  t.test('defaults: DeviceClass CEL', async t => {
    const r = render()
    const classes = r.objects.filter(o => o.kind === 'DeviceClass')
    t.same(
      classes.map(c => [c.apiVersion, c.metadata.name, c.spec.selectors[0].cel.expression]),
      [
        [
          'resource.k8s.io/v1',
          'attachment.network-dra.dev',
          'device.driver == "network-dra.dev" && device.attributes["network-dra.dev"].kind == "attachment"',
        ],
        [
          'resource.k8s.io/v1',
          'host-interface.network-dra.dev',
          'device.driver == "network-dra.dev" && device.attributes["network-dra.dev"].kind == "host-interface"',
        ],
        [
          'resource.k8s.io/v1',
          'shared-host-link.network-dra.dev',
          'device.driver == "network-dra.dev" && device.attributes["network-dra.dev"].kind == "shared-host-link"',
        ],
      ],
    )
  })

  t.test('policy file is the contract v2 object of the policy values', async t => {
    const policy = {
      tenantNetworkNamespaces: ['team-a'],
      allowedPluginTypes: ['macvlan', 'host-local'],
      allowedParentLinks: ['ndra-decoy0'],
      allowedBridges: ['br-t'],
      allowedCIDRs: ['10.10.0.0/16'],
      clusterCIDRs: ['10.244.0.0/16'],
      allowedSysctls: ['net.ipv4.conf.IFNAME.arp_notify'],
      forbiddenKeys: ['dataDir', 'socketPath'],
      limits: { maxDepth: 8, maxNodes: 100, maxBytes: 4096 },
    }
    const r = render({ policy })
    t.ok(r.ok, r.stderr)
    const cm = one(r.objects, 'ConfigMap')
    t.same(JSON.parse(cm.data['policy.json']), policy)
    const plugin = one(r.objects, 'DaemonSet').spec.template.spec.containers[0]
    t.equal(envOf(plugin).POLICY_FILE!.value, '/etc/network-dra/policy/policy.json')
    const partial = render({ policy: { limits: { maxDepth: 4 } } })
    t.ok(partial.ok, partial.stderr)
    t.same(
      JSON.parse(one(partial.objects, 'ConfigMap').data['policy.json']).limits,
      { maxDepth: 4, maxNodes: 2000, maxBytes: 16384 },
      'a partial limits value keeps the other defaults',
    )
    const annotations = one(r.objects, 'DaemonSet').spec.template.metadata.annotations
    const other = one(
      render({ policy: { ...policy, tenantNetworkNamespaces: [] } }).objects,
      'DaemonSet',
    )
    t.not(
      annotations['checksum/policy'],
      other.spec.template.metadata.annotations['checksum/policy'],
      'policy change rolls the pods',
    )
  })

  t.test('chart policy defaults equal the daemon built-in policy', async t => {
    const values = parseYaml(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Obj
    t.same(values.policy, JSON.parse(JSON.stringify(DEFAULT_POLICY)))
    const cm = one(render().objects, 'ConfigMap')
    t.same(
      parsePolicy(JSON.parse(cm.data['policy.json']), 'policy.json'),
      DEFAULT_POLICY,
      'the daemon parses the default policy file to its built-in policy',
    )
  })

  t.test('env vars appear only for values the user set', async t => {
    const table: { values: Obj; env: string; value: string }[] = [
      { values: { driverName: 'net.example.com' }, env: 'DRIVER_NAME', value: 'net.example.com' },
      { values: { plugin: { logLevel: 'debug' } }, env: 'LOG_LEVEL', value: 'debug' },
      { values: { plugin: { attachmentSlots: 16 } }, env: 'ATTACHMENT_SLOTS', value: '16' },
      { values: { plugin: { hostInterfaces: '^eth1$' } }, env: 'HOST_INTERFACES', value: '^eth1$' },
      {
        values: { plugin: { hostLinkDownTaint: 'NoExecute' } },
        env: 'HOST_LINK_DOWN_TAINT',
        value: 'NoExecute',
      },
      {
        values: { plugin: { sharedHostLinks: [{ pattern: '^ndra-shared[0-9]$', capacity: 3 }] } },
        env: 'SHARED_HOST_LINKS',
        value: '[{"capacity":3,"pattern":"^ndra-shared[0-9]$"}]',
      },
      { values: { plugin: { prepareConcurrency: 2 } }, env: 'PREPARE_CONCURRENCY', value: '2' },
      { values: { plugin: { deviceMetadata: 'off' } }, env: 'DEVICE_METADATA', value: 'off' },
      { values: { plugin: { hookTimeoutSeconds: 20 } }, env: 'HOOK_TIMEOUT', value: '20' },
      { values: { plugin: { cniPluginTimeoutSeconds: 9 } }, env: 'CNI_PLUGIN_TIMEOUT', value: '9' },
      { values: { plugin: { cniBinDirs: ['/a', '/b'] } }, env: 'CNI_BIN_DIRS', value: '/a:/b' },
      {
        values: { paths: { kubeletDir: '/k' } },
        env: 'KUBELET_REGISTRAR_DIR',
        value: '/k/plugins_registry',
      },
      { values: { paths: { kubeletDir: '/k' } }, env: 'KUBELET_PLUGINS_DIR', value: '/k/plugins' },
      { values: { paths: { cdiRoot: '/etc/cdi' } }, env: 'CDI_ROOT', value: '/etc/cdi' },
      { values: { paths: { stateDir: '/s' } }, env: 'STATE_DIR', value: '/s' },
      {
        values: { paths: { hookSocket: '/run/x/h.sock' } },
        env: 'HOOK_SOCKET',
        value: '/run/x/h.sock',
      },
      { values: { paths: { hookPath: '/opt/x/h' } }, env: 'HOOK_PATH', value: '/opt/x/h' },
      { values: { paths: { cniCacheDir: '/c' } }, env: 'CNI_CACHE_DIR', value: '/c' },
      { values: { http: { port: 9999 } }, env: 'HTTP_ADDRESS', value: ':9999' },
      { values: { http: { port: 0 } }, env: 'HTTP_ADDRESS', value: '' },
      {
        values: { apiServer: { host: '192.0.2.2' } },
        env: 'KUBERNETES_SERVICE_HOST',
        value: '192.0.2.2',
      },
    ]
    const base = ['CNI_HOST_ROOT', 'HEALTH_SOCKET', 'NODE_NAME', 'POD_UID', 'POLICY_FILE']
    for (const row of table) {
      const r = render(row.values)
      t.ok(r.ok, `${row.env}: ${r.stderr}`)
      const plugin = one(r.objects, 'DaemonSet').spec.template.spec.containers[0]
      const env = envOf(plugin)
      t.equal(env[row.env]?.value, row.value, `${JSON.stringify(row.values)} sets ${row.env}`)
      const extra = Object.keys(env).filter(k => !base.includes(k))
      const expected = row.env.startsWith('KUBELET_')
        ? ['KUBELET_PLUGINS_DIR', 'KUBELET_REGISTRAR_DIR']
        : [row.env]
      t.same(extra.sort(), expected, `${JSON.stringify(row.values)} sets nothing else`)
    }
  })

  t.test('cniExecution container: no CNI_HOST_ROOT, the bin dirs mounted instead', async t => {
    const r = render({ plugin: { cniExecution: 'container' } })
    t.ok(r.ok, r.stderr)
    const plugin = one(r.objects, 'DaemonSet').spec.template.spec.containers[0]
    t.same(Object.keys(envOf(plugin)).sort(), [
      'HEALTH_SOCKET',
      'NODE_NAME',
      'POD_UID',
      'POLICY_FILE',
    ])
    const mounts = Object.fromEntries(
      (plugin.volumeMounts as Obj[]).map(m => [m.mountPath as string, m]),
    )
    t.equal(mounts['/opt/cni/bin']?.readOnly, true)
    t.equal(mounts['/usr/lib/cni']?.readOnly, true)
    t.notOk(mounts['/host'], 'no node root mount')
  })

  t.test('cniWritableHostPaths choose the writable node paths in the chroot', async t => {
    const r = render({ plugin: { cniWritableHostPaths: ['/var/lib/cni', '/run/xtables.d'] } })
    t.ok(r.ok, r.stderr)
    const pod = one(r.objects, 'DaemonSet').spec.template.spec
    const mounts = (pod.containers[0].volumeMounts as Obj[]).map(m => m.mountPath as string)
    t.ok(mounts.includes('/host/run/xtables.d'))
    t.notOk(mounts.includes('/host/run'))
    for (const bad of [['relative'], ['/'], ['/a:b']]) {
      t.notOk(render({ plugin: { cniWritableHostPaths: bad } }).ok, `${bad[0]} is refused`)
    }
    t.notOk(render({ plugin: { cniExecution: 'nsenter' } }).ok, 'unknown mode refused')
  })

  t.test('non-default paths move the mounts with them', async t => {
    const r = render({
      driverName: 'net.example.com',
      paths: {
        kubeletDir: '/k',
        cdiRoot: '/etc/cdi',
        hookSocket: '/run/x/h.sock',
        hookPath: '/opt/x/hook',
      },
      plugin: { cniBinDirs: ['/a'], cniExecution: 'container' },
    })
    t.ok(r.ok, r.stderr)
    const pod = one(r.objects, 'DaemonSet').spec.template.spec
    const mounts = (pod.containers[0].volumeMounts as Obj[]).map(m => m.mountPath as string)
    for (const p of [
      '/k/plugins_registry',
      '/k/plugins/net.example.com',
      '/etc/cdi',
      '/run/x',
      '/a',
    ]) {
      t.ok(mounts.includes(p), `mounts ${p}`)
    }
    t.notOk(mounts.includes('/usr/lib/cni'))
    t.same(pod.initContainers[0].command.slice(-1), ['/host-hook-dir/hook'])
    const hookDir = (pod.volumes as Obj[]).find(v => v.name === 'hook-dir')
    t.equal(hookDir?.hostPath.path, '/opt/x')
    const role = one(r.objects, 'ClusterRole')
    t.same(role.rules[3].resourceNames, ['net.example.com'])
    t.same(
      r.objects.filter(o => o.kind === 'DeviceClass').map(c => c.metadata.name),
      [
        'attachment.net.example.com',
        'host-interface.net.example.com',
        'shared-host-link.net.example.com',
      ],
    )
  })

  t.test('HTTP port 0 turns off the TCP listener, not the probes', async t => {
    const plugin = one(render({ http: { port: 0 } }).objects, 'DaemonSet').spec.template.spec
      .containers[0]
    t.equal(plugin.ports, undefined)
    t.equal(plugin.livenessProbe.exec.command[3], '/healthz')
    t.equal(plugin.readinessProbe.exec.command[3], '/readyz')
  })

  t.test('admin networks become DeviceClasses carrying a CNIConfig', async t => {
    const network = {
      cniVersion: '1.0.0',
      name: 'storage',
      plugins: [
        {
          type: 'macvlan',
          master: 'eth1',
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.20.0.0/24' }]] },
        },
      ],
    }
    const r = render({
      plugin: { hostInterfaces: '^eth' },
      networks: [
        { name: 'storage', interfaceName: 'stor0', network },
        {
          name: 'uplink',
          deviceKind: 'host-interface',
          network: { cniVersion: '1.0.0', name: 'u', plugins: [{ type: 'host-device' }] },
        },
      ],
    })
    t.ok(r.ok, r.stderr)
    const storage = one(r.objects, 'DeviceClass', 'storage.network-dra.dev')
    t.same(storage.spec.config, [
      {
        opaque: {
          driver: 'network-dra.dev',
          parameters: {
            apiVersion: 'network-dra.dev/v1alpha1',
            kind: 'CNIConfig',
            interfaceName: 'stor0',
            network,
          },
        },
      },
    ])
    t.match(storage.spec.selectors[0].cel.expression, '.kind == "attachment"')
    const uplink = one(r.objects, 'DeviceClass', 'uplink.network-dra.dev')
    t.match(uplink.spec.selectors[0].cel.expression, '.kind == "host-interface"')
    t.equal(uplink.spec.config[0].opaque.parameters.interfaceName, undefined)
  })

  t.test('bad combinations fail with an explanation', async t => {
    const table: { name: string; values: Obj; message: RegExp }[] = [
      {
        name: 'driver name not DNS',
        values: { driverName: 'Net_Work' },
        message: /lower-case DNS subdomain/,
      },
      {
        name: 'surge and unavailable',
        values: { updateStrategy: { maxSurge: 1, maxUnavailable: 1 } },
        message: /maxUnavailable 0/,
      },
      {
        name: 'zero and zero',
        values: { updateStrategy: { maxSurge: 0, maxUnavailable: 0 } },
        message: /cannot both be 0/,
      },
      {
        name: 'type with slash',
        values: { policy: { allowedPluginTypes: ['/bin/sh'] } },
        message: /allowedPluginTypes/,
      },
      {
        name: 'granted namespaces with no plugin type',
        values: { policy: { tenantNetworkNamespaces: ['a'], allowedPluginTypes: [] } },
        message: /no raw network could run/,
      },
      {
        name: 'removed claimConfig',
        values: { policy: { claimConfig: 'allow' } },
        message: /claimConfig/,
      },
      {
        name: 'depth limit the admission policy cannot unroll',
        values: { policy: { limits: { maxDepth: 64 } } },
        message: /maxDepth/,
      },
      {
        name: 'CIDR without prefix',
        values: { policy: { allowedCIDRs: ['10.0.0.1'] } },
        message: /allowedCIDRs/,
      },
      {
        name: 'unknown claimOverrides field',
        values: {
          networks: [
            {
              name: 'a',
              claimOverrides: { network: true },
              network: { plugins: [{ type: 'macvlan' }] },
            },
          ],
        },
        message: /claimOverrides/,
      },
      { name: 'relative path', values: { paths: { stateDir: 'state' } }, message: /stateDir/ },
      {
        name: 'hook socket in /run',
        values: { paths: { hookSocket: '/run/hook.sock' } },
        message: /dedicated directory/,
      },
      {
        name: 'hook in /usr/bin',
        values: { paths: { hookPath: '/usr/bin/network-dra-hook' } },
        message: /dedicated directory/,
      },
      {
        name: 'duplicate network',
        values: {
          networks: [
            { name: 'a', network: { plugins: [{ type: 'macvlan' }] } },
            { name: 'a', network: { plugins: [{ type: 'macvlan' }] } },
          ],
        },
        message: /used twice/,
      },
      {
        name: 'network named attachment',
        values: { networks: [{ name: 'attachment', network: { plugins: [{ type: 'macvlan' }] } }] },
        message: /used twice/,
      },
      {
        name: 'network without plugins',
        values: { networks: [{ name: 'a', network: { type: 'macvlan' } }] },
        message: /plugins/,
      },
      {
        name: 'host-interface network without host interfaces',
        values: {
          networks: [
            {
              name: 'a',
              deviceKind: 'host-interface',
              network: { plugins: [{ type: 'host-device' }] },
            },
          ],
        },
        message: /plugin.hostInterfaces is empty/,
      },
      {
        name: 'shared-host-link network without shared host links',
        values: {
          networks: [
            {
              name: 'a',
              deviceKind: 'shared-host-link',
              network: { plugins: [{ type: 'macvlan' }] },
            },
          ],
        },
        message: /plugin.sharedHostLinks is empty/,
      },
      {
        name: 'interface name too long',
        values: {
          networks: [
            {
              name: 'a',
              interfaceName: 'abcdefghijklmnop',
              network: { plugins: [{ type: 'macvlan' }] },
            },
          ],
        },
        message: /interfaceName/,
      },
      {
        name: 'port without host',
        values: { apiServer: { port: 6443 } },
        message: /apiServer.host/,
      },
      { name: 'dns None without config', values: { dnsConfig: null }, message: /dnsConfig/ },
      { name: 'unknown key', values: { plugn: {} }, message: /plugn/ },
    ]
    for (const row of table) {
      const r = render(row.values)
      t.notOk(r.ok, `${row.name} is refused`)
      t.match(r.stderr, row.message, row.name)
    }
  })

  t.test('every ci values file renders', async t => {
    const files = readdirSync(join(chart, 'ci')).filter(f => f.endsWith('-values.yaml'))
    t.ok(files.length >= 3)
    for (const f of files) {
      const r = render({}, [join(chart, 'ci', f)])
      t.ok(r.ok, `${f}: ${r.stderr}`)
      t.ok(
        r.objects.some(o => o.kind === 'DaemonSet'),
        `${f} renders the DaemonSet`,
      )
    }
  })

  t.test('the init container installs the hook atomically', async t => {
    const init = one(render().objects, 'DaemonSet').spec.template.spec.initContainers[0]
    const script = init.command[2] as string
    t.equal(init.command[1], '-e')
    const dir = t.testdir({ src: { hook: '#!/bin/sh\necho new\n' }, host: { hook: 'old' } })
    const src = join(dir, 'src', 'hook')
    const dst = join(dir, 'host', 'hook')
    const res = spawnSync(process.execPath, ['-e', script, src, dst], { encoding: 'utf8' })
    t.equal(res.status, 0, res.stderr)
    t.equal(readFileSync(dst, 'utf8'), '#!/bin/sh\necho new\n')
    t.equal(statSync(dst).mode & 0o777, 0o755)
    t.same(readdirSync(join(dir, 'host')), ['hook'], 'no temporary file left behind')
    const bad = spawnSync(process.execPath, ['-e', script, join(dir, 'missing'), dst], {
      encoding: 'utf8',
    })
    t.equal(bad.status, 1)
    t.match(bad.stderr, /install-hook: cannot install/)
    t.equal(
      readFileSync(dst, 'utf8'),
      '#!/bin/sh\necho new\n',
      'a failed install keeps the old hook',
    )
    t.same(readdirSync(join(dir, 'host')), ['hook'])
  })
}

t.test('e2e installs the chart defaults: only the documented keys differ', async t => {
  const file = join(root, 'test', 'e2e', 'values.yaml')
  const e2e = parseYaml(readFileSync(file, 'utf8')) as Obj
  // The differences test/e2e/values.yaml explains: the local image tag, the test's own host links
  // and admin network. Anything else would make e2e prove a configuration users do not install.
  const allowed: Record<string, string[] | true> = {
    image: ['tag'],
    plugin: ['hostInterfaces'],
    networks: true,
  }
  for (const [k, v] of Object.entries(e2e)) {
    const keys = allowed[k]
    t.ok(keys, `top-level ${k} is an explained difference`)
    if (Array.isArray(keys)) {
      for (const sub of Object.keys(v as Obj)) t.ok(keys.includes(sub), `${k}.${sub} is explained`)
    }
  }
  const r = render({}, [file])
  t.ok(r.ok, r.stderr)
  const plugin = one(r.objects, 'DaemonSet').spec.template.spec.containers[0]
  t.equal(envOf(plugin).CNI_HOST_ROOT?.value, '/host', 'the default CNI execution (chroot)')
  const masq = r.objects.find(o => o.kind === 'DeviceClass' && o.metadata.name.startsWith('e2e-'))
  t.ok(masq, 'the admin network of the test is a DeviceClass')
})
