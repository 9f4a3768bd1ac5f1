// End to end with the chart's default CNI execution (plugins chrooted into the node's root): the
// admin network of test/e2e/values.yaml (bridge ndra-e2e-br0 on 10.99.0.0/24 with ipMasq and a
// chained portmap) gives a pod its interface, the node's NAT table gets the masquerade and the DNAT
// rules for the pod's IP on ADD, and both are gone after the pod is deleted (DEL). Then the
// version-specific part of claim status: the driver wrote status.devices with its pod-bound token;
// a token of the same ServiceAccount that is bound to no pod may do so on Kubernetes 1.35, and is
// refused from 1.36 on (DRAResourceClaimGranularStatusAuthorization, on by default).
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import t from 'tap'
import {
  PLATFORM,
  SYSTEM_NS,
  deleteLink,
  failureDiagnostics,
  helm,
  kubectl,
  kubectlJson,
  podAddr,
  podPhase,
  removeInstall,
  sh,
  waitFor,
  type KClaim,
  type KList,
  type KPod,
  chartInstallArgs,
} from './lib/cluster.js'

const RELEASE = 'ndra-e2e'
const NS = `ndra-admin-${Math.random().toString(36).slice(2, 7)}`
const CLASS = 'e2e-masq.network-dra.dev'
const BRIDGE = 'ndra-e2e-br0'
const MINUTE = 60_000

const nat = () => sh('iptables-save', ['-t', 'nat'])
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

const manifest = `
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata: {name: masq-net}
spec:
  devices:
    requests:
      - name: net
        exactly: {deviceClassName: ${CLASS}}
---
apiVersion: v1
kind: Pod
metadata: {name: masq}
spec:
  dnsPolicy: None
  dnsConfig: {nameservers: [127.0.0.1]}
  terminationGracePeriodSeconds: 1
  resourceClaims: [{name: net, resourceClaimName: masq-net}]
  containers:
    - name: main
      image: localhost/network-dra-test:v1
      imagePullPolicy: Never
      command: [sleep, '3600']
      resources: {claims: [{name: net}]}
`

t.before(async () => {
  await helm(chartInstallArgs(RELEASE))
  await kubectl(['create', 'namespace', NS])
})

t.teardown(async () => {
  await removeInstall(RELEASE, [NS])
  // The bridge plugin leaves its bridge on DEL (by design); it is the test's own link.
  await deleteLink(BRIDGE)
})

t.afterEach(async t => {
  if (!t.passing()) t.comment(await failureDiagnostics())
})

let podIp = ''

t.test('bridge + ipMasq + portmap run chrooted: NAT rules appear on ADD', async t => {
  const env = await kubectl([
    'get',
    'daemonset',
    '-n',
    SYSTEM_NS,
    '-o',
    'jsonpath={.items[0].spec.template.spec.containers[0].env[?(@.name=="CNI_HOST_ROOT")].value}',
  ])
  t.equal(env.trim(), '/host', "the chart's default: plugins chrooted into the node root")
  await kubectl(['apply', '-n', NS, '-f', '-'], manifest)
  await waitFor('pod masq Running', 3 * MINUTE, async () =>
    (await podPhase(NS, 'masq')) === 'Running' ? true : undefined,
  )
  const addr = await podAddr(NS, 'masq', 'net1')
  t.match(addr, /^10\.99\.0\.\d+\/24$/, 'address from the admin network')
  podIp = addr.split('/')[0] ?? ''
  const rules = await nat()
  t.match(rules, new RegExp(`-A POSTROUTING -s ${esc(podIp)}/32 .*-j CNI-`), 'ipMasq rule')
  t.match(rules, new RegExp(`--to-destination ${esc(podIp)}:8080`), 'portmap DNAT rule')
  t.match(await sh('ip', ['-o', '-4', 'addr', 'show', 'dev', BRIDGE]), /10\.99\.0\.1\/24/)
  const claim = await waitFor('claim status written', MINUTE, async () => {
    const c = await kubectlJson<KClaim>(['get', 'resourceclaim', '-n', NS, 'masq-net'])
    return c.status?.devices?.[0]?.networkData ? c : undefined
  })
  t.same(claim.status?.devices?.[0]?.networkData?.ips, [addr], 'networkData names the address')
})

t.test(`claim status authorization on Kubernetes 1.${PLATFORM.minor}`, async t => {
  const sa = (
    await kubectl([
      'get',
      'daemonset',
      '-n',
      SYSTEM_NS,
      '-o',
      'jsonpath={.items[0].spec.template.spec.serviceAccountName}',
    ])
  ).trim()
  // A token of the plugin's ServiceAccount bound to no pod (so to no node).
  const token = (await kubectl(['create', 'token', sa, '-n', SYSTEM_NS])).trim()
  const server = (
    await kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'])
  ).trim()
  const ca = '/var/lib/network-dra-cluster/pki/ca.crt'
  // A raw JSON patch of status.devices (kubectl would GET the status first, which the plugin's
  // role does not allow): exactly the write the driver makes, with the unbound token.
  const asUnbound = (value: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = JSON.stringify([
        { op: 'replace', path: '/status/devices/0/networkData/interfaceName', value },
      ])
      const req = request(
        `${server}/apis/resource.k8s.io/v1/namespaces/${NS}/resourceclaims/masq-net/status`,
        {
          method: 'PATCH',
          ca: readFileSync(ca),
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json-patch+json',
          },
        },
        res => {
          let text = ''
          res.on('data', (c: Buffer) => {
            text += c.toString()
          })
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: text })
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  const r = await asUnbound('probe0')
  if (PLATFORM.minor >= 36) {
    // The registry's field check answers 422 (FieldValueForbidden) naming the missing permission.
    t.equal(r.status, 422, `a token bound to no node may not write device status: ${r.body}`)
    t.match(r.body, /changing status\.devices requires resource=\\"resourceclaims\/driver\\"/)
    t.match(r.body, /arbitrary-node:patch/, 'an unbound token needs the arbitrary-node verb')
  } else {
    t.equal(r.status, 200, `1.${PLATFORM.minor} has no per-node check: ${r.body}`)
    t.equal((await asUnbound('net1')).status, 200, 'restored')
  }
  const claim = await kubectlJson<KClaim>(['get', 'resourceclaim', '-n', NS, 'masq-net'])
  t.equal(
    claim.status?.devices?.[0]?.networkData?.interfaceName,
    'net1',
    'status as the driver wrote it',
  )
})

t.test('deleting the pod runs DEL: the NAT rules for its IP are gone', async t => {
  t.ok(podIp, 'the ADD test ran')
  await kubectl(['delete', 'pod', '-n', NS, 'masq', '--wait=true', '--timeout=120s'])
  const left = await waitFor('NAT rules for the pod IP removed', 2 * MINUTE, async () => {
    const rules = await nat()
    return new RegExp(`${esc(podIp)}[/:]`).test(rules) ? undefined : rules
  })
  t.notMatch(left, new RegExp(`-s ${esc(podIp)}/32`), 'no masquerade rule')
  t.notMatch(left, new RegExp(`--to-destination ${esc(podIp)}:`), 'no DNAT rule')
  const pods = await kubectlJson<KList<KPod>>(['get', 'pods', '-n', NS])
  t.equal(pods.items.length, 0)
})
