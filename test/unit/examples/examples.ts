// Invariant: every manifest in examples/ parses, uses only the expected kinds and apiVersions
// (DRA objects are resource.k8s.io/v1), every container of a pod that claims devices lists those
// claims in resources.claims (CDI reaches only those containers), every referenced claim or
// template exists in the same file (or is demo A's claim for demo B), pods never resolve through
// the node's resolver, and every CNIConfig passes the driver's own strict config parser; tenant-
// written networks pass the policy with the demo allowance (namespace granted, parent link
// ndra-demo0, addresses in 10.10.0.0/16) and are refused by the default policy (admin networks
// only). The demo allowance is examples/values-demo.yaml itself (the file the demo and e2e install
// the chart with); a claim entry on its admin network sets only what the network's claimOverrides
// allow, also when it names the parent of a prioritized list whose alternative is that network.
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse as parseYaml, parseAllDocuments } from 'yaml'

/* eslint-disable @typescript-eslint/no-unsafe-return -- see Obj below */
import { validateCniConfig } from '../../../src/claims/cni-config.js'
import { buildAttachmentPlans } from '../../../src/claims/plan-builder.js'
import {
  claimEntryProblems,
  overrideProblems,
  policyBounds,
} from '../../../src/claims/claim-rules.js'
import { cniVersionProblems, rawNetworkProblems } from '../../../src/claims/network-rules.js'
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../../../src/claims/policy.js'

// Parsed manifests are untyped JSON; the assertions probe into them directly.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples')
/** The chart values of the demo allowance (examples/values-demo.yaml). */
const demoValues = parseYaml(readFileSync(join(dir, 'values-demo.yaml'), 'utf8')) as Obj
/** What the demos need an admin to allow: the chart defaults plus the demo allowance. */
const DEMO_ALLOWANCE: Policy = parsePolicy(demoValues.policy, 'values-demo.yaml')
/** The admin networks of the demo allowance, by DeviceClass name. */
const demoNetworks = new Map<string, Obj>(
  (demoValues.networks as Obj[]).map(n => [`${n.name as string}.network-dra.dev`, n]),
)
const DRIVER = 'network-dra.dev'
const TEST_IMAGE = 'localhost/network-dra-test:v1'

const expected: Record<string, string[]> = {
  'demo-a.yaml': ['ResourceClaim', 'Pod'],
  'demo-b.yaml': ['Pod'],
  'demo-c.yaml': ['ResourceClaimTemplate', 'Deployment'],
  'host-interface.yaml': ['ResourceClaim', 'Pod'],
  'admin-network.yaml': ['DeviceClass', 'ResourceClaim', 'Pod'],
  'admin-network-ips.yaml': ['ResourceClaim', 'Pod'],
  'prioritized-metadata.yaml': ['ResourceClaimTemplate', 'Pod'],
  'link-health.yaml': ['ResourceClaim', 'Pod'],
  'link-taint.yaml': ['ResourceClaim', 'Pod'],
  'shared-link.yaml': ['ResourceClaimTemplate', 'Pod', 'Pod', 'Pod', 'Pod'],
}
/** The host link each host-interface example selects (the e2e creates these veths). */
const HOST_INTERFACE_OF: Record<string, string | undefined> = {
  'host-interface.yaml': 'ndra-hostif0',
  'link-taint.yaml': 'ndra-hostif1',
  'prioritized-metadata.yaml': 'ndra-fast0',
}
const HOST_INTERFACE_CLASS = 'host-interface.network-dra.dev'
const apiVersions: Record<string, string> = {
  ResourceClaim: 'resource.k8s.io/v1',
  ResourceClaimTemplate: 'resource.k8s.io/v1',
  DeviceClass: 'resource.k8s.io/v1',
  Pod: 'v1',
  Deployment: 'apps/v1',
}

function load(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'))
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map(e => e.message).join('; ')}`)
  }
  return docs.map(d => d.toJS() as Obj | null).filter((o): o is Obj => o !== null)
}

function podSpecs(objects: Obj[]): { name: string; spec: Obj }[] {
  return objects.flatMap(o => {
    if (o.kind === 'Pod') return [{ name: o.metadata.name as string, spec: o.spec as Obj }]
    if (o.kind === 'Deployment')
      return [{ name: o.metadata.name as string, spec: o.spec.template.spec as Obj }]
    return []
  })
}

/** One opaque config entry and the DeviceClasses of the (sub)requests it applies to. */
interface OpaqueEntry {
  where: string
  opaque: Obj
  classes: string[]
}

/**
 * The class of every request name an entry may name: `req` of `exactly`, `req` of a prioritized
 * list (all its alternatives: the entry applies to whichever is chosen) and each `req/sub`.
 */
function requestClassesOf(devices: Obj): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const r of (devices.requests ?? []) as Obj[]) {
    if (r.exactly) {
      out.set(r.name as string, [r.exactly.deviceClassName as string])
      continue
    }
    const subs = (r.firstAvailable ?? []) as Obj[]
    out.set(
      r.name as string,
      subs.map(x => x.deviceClassName as string),
    )
    for (const x of subs) out.set(`${r.name as string}/${x.name as string}`, [x.deviceClassName])
  }
  return out
}

function opaqueConfigs(objects: Obj[]): OpaqueEntry[] {
  return objects.flatMap(o => {
    const devices: Obj | undefined =
      o.kind === 'ResourceClaim'
        ? o.spec.devices
        : o.kind === 'ResourceClaimTemplate'
          ? o.spec.spec.devices
          : undefined
    const configs: Obj[] =
      devices !== undefined
        ? (devices.config ?? [])
        : o.kind === 'DeviceClass'
          ? (o.spec.config ?? [])
          : []
    const byName = devices !== undefined ? requestClassesOf(devices) : new Map<string, string[]>()
    return configs.map(c => {
      const requests = (c.requests ?? []) as string[]
      const classes =
        o.kind === 'DeviceClass'
          ? [o.metadata.name as string]
          : requests.length === 0
            ? [...new Set([...byName.values()].flat())]
            : requests.flatMap(r => byName.get(r) ?? [`<unknown request ${r}>`])
      return { where: `${o.kind}/${o.metadata.name}`, opaque: c.opaque as Obj, classes }
    })
  })
}

t.test('the examples directory holds exactly the documented manifests', async t => {
  const files = readdirSync(dir).filter(f => f.endsWith('.yaml') && !f.startsWith('values-'))
  t.same(files.sort(), Object.keys(expected).sort())
  t.same(
    readdirSync(dir).filter(f => f.startsWith('values-')),
    ['values-demo.yaml'],
    'one values file: the demo allowance',
  )
  t.ok(readFileSync(join(dir, 'README.md'), 'utf8').includes('## demo-a.yaml'))
})

for (const [file, kinds] of Object.entries(expected)) {
  t.test(file, async t => {
    const objects = load(file)
    t.same(
      objects.map(o => o.kind),
      kinds,
      'kinds in order',
    )
    for (const o of objects) {
      t.equal(o.apiVersion, apiVersions[o.kind as string], `${o.kind} apiVersion`)
      t.ok(o.metadata?.name, `${o.kind} has a name`)
      t.equal(o.metadata.namespace, undefined, `${o.kind} is applied into the caller's namespace`)
    }

    const claimNames = new Set(
      objects.filter(o => o.kind === 'ResourceClaim').map(o => o.metadata.name as string),
    )
    const templateNames = new Set(
      objects.filter(o => o.kind === 'ResourceClaimTemplate').map(o => o.metadata.name as string),
    )
    for (const { name, spec } of podSpecs(objects)) {
      t.equal(spec.dnsPolicy, 'None', `${name}: no node resolver`)
      t.same(spec.dnsConfig, { nameservers: ['127.0.0.1'] }, `${name}: loopback nameserver`)
      const podClaims = (spec.resourceClaims ?? []) as Obj[]
      t.ok(podClaims.length > 0, `${name} claims a network`)
      for (const pc of podClaims) {
        if (pc.resourceClaimName !== undefined) {
          const known =
            claimNames.has(pc.resourceClaimName) ||
            (file === 'demo-b.yaml' && pc.resourceClaimName === 'demo-a-net')
          t.ok(known, `${name}: claim ${pc.resourceClaimName} is defined`)
        } else {
          t.ok(
            templateNames.has(pc.resourceClaimTemplateName),
            `${name}: template ${pc.resourceClaimTemplateName} is defined`,
          )
        }
      }
      for (const c of spec.containers as Obj[]) {
        t.equal(c.image, TEST_IMAGE, `${name}/${c.name} image`)
        t.equal(c.imagePullPolicy, 'Never', `${name}/${c.name} never pulls`)
        const listed = ((c.resources?.claims ?? []) as Obj[]).map(x => x.name as string).sort()
        t.same(
          listed,
          podClaims.map(pc => pc.name as string).sort(),
          `${name}/${c.name} lists every pod claim in resources.claims`,
        )
      }
    }

    const requestClasses = objects.flatMap(o => {
      const devices =
        o.kind === 'ResourceClaim'
          ? o.spec.devices
          : o.kind === 'ResourceClaimTemplate'
            ? o.spec.spec.devices
            : undefined
      return devices
        ? ((devices.requests ?? []) as Obj[]).flatMap(r =>
            r.firstAvailable
              ? (r.firstAvailable as Obj[]).map(s => s.deviceClassName as string)
              : [r.exactly.deviceClassName as string],
          )
        : []
    })
    for (const cls of requestClasses) {
      t.ok(cls.endsWith(`.${DRIVER}`), `request class ${cls} belongs to the driver`)
    }

    for (const { where, opaque, classes } of opaqueConfigs(objects)) {
      t.equal(opaque.driver, DRIVER, `${where}: opaque config targets the driver`)
      const v = validateCniConfig(opaque.parameters)
      t.ok(v.ok, `${where}: CNIConfig is well-formed ${v.ok ? '' : v.errors.join('; ')}`)
      t.equal(opaque.parameters.apiVersion, 'network-dra.dev/v1alpha1')
      t.equal(opaque.parameters.kind, 'CNIConfig')
      if (!v.ok) continue
      for (const cls of classes) {
        t.ok(requestClasses.includes(cls) || where.startsWith('DeviceClass/'), `${where}: ${cls}`)
      }
      const network = v.config.network
      if (where.startsWith('DeviceClass/')) {
        // The admin's own network: checked by the daemon at prepare, not by the tenant policy.
        t.ok(network, `${where}: an admin class carries a network`)
        if (network) t.same(cniVersionProblems(network, where), [], `${where}: cniVersion`)
        continue
      }
      const ns = {
        namespace: 'demo',
        granted: DEMO_ALLOWANCE.tenantNetworkNamespaces.includes('demo'),
      }
      if (network === undefined) {
        // Fields on top of the network the class (admin network) or another entry brings.
        for (const cls of classes) {
          const admin = demoNetworks.get(cls)
          if (admin === undefined) {
            t.same(
              claimEntryProblems(v.config, where, DEMO_ALLOWANCE, ns),
              [],
              `${where}: entry for ${cls} passes the policy with the demo allowance`,
            )
            continue
          }
          t.same(
            overrideProblems(
              v.config,
              where,
              { network: admin.network, overrides: admin.claimOverrides },
              DEMO_ALLOWANCE,
            ),
            [],
            `${where}: sets only what admin network ${cls} allows`,
          )
        }
        continue
      }
      for (const cls of classes) {
        t.notOk(demoNetworks.has(cls), `${where}: no network of its own for admin network ${cls}`)
      }
      t.same(cniVersionProblems(network, where), [], `${where}: a supported cniVersion`)
      const problems = [
        ...claimEntryProblems(v.config, where, DEMO_ALLOWANCE, ns),
        ...rawNetworkProblems(network, DEMO_ALLOWANCE, {
          path: `${where}.network`,
          hostInterface: classes.includes(HOST_INTERFACE_CLASS)
            ? HOST_INTERFACE_OF[file]
            : undefined,
          bounds: policyBounds(DEMO_ALLOWANCE),
        }),
      ]
      t.same(problems, [], `${where}: passes the policy with the demo allowance`)
      t.same(
        claimEntryProblems(v.config, where, DEFAULT_POLICY, { ...ns, granted: false }).map(
          p => p.rule,
        ),
        ['tenant-network-namespace'],
        `${where}: refused by the default policy (admin networks only)`,
      )
    }
  })
}

t.test('demo contents match the README', async t => {
  const subnetOf = (file: string): string => {
    const cfg = opaqueConfigs(load(file))[0]!.opaque.parameters
    const ipam = cfg.network.plugins[0].ipam
    return ipam.type === 'host-local' ? ipam.ranges[0][0].subnet : ipam.addresses[0].address
  }
  t.equal(subnetOf('demo-a.yaml'), '10.10.1.0/24')
  t.equal(subnetOf('demo-c.yaml'), '10.10.3.0/24')
  t.equal(subnetOf('admin-network.yaml'), '10.10.4.0/24')
  t.equal(subnetOf('host-interface.yaml'), '10.10.5.10/24')
  for (const f of ['demo-a.yaml', 'demo-c.yaml', 'admin-network.yaml']) {
    t.equal(
      opaqueConfigs(load(f))[0]!.opaque.parameters.network.plugins[0].master,
      'ndra-demo0',
      `${f} uses the e2e link`,
    )
  }
  const deployment = load('demo-c.yaml').find(o => o.kind === 'Deployment')!
  t.equal(deployment.spec.replicas, 2)
  const admin = load('admin-network.yaml')
  const claim = admin.find(o => o.kind === 'ResourceClaim')!
  t.equal(claim.spec.devices.config, undefined, 'the admin-network claim carries no CNI config')
  t.equal(
    admin.find(o => o.kind === 'DeviceClass')!.spec.selectors[0].cel.expression,
    'device.driver == "network-dra.dev" && device.attributes["network-dra.dev"].kind == "attachment"',
  )
  const ipsClaim = load('admin-network-ips.yaml').find(o => o.kind === 'ResourceClaim')!
  t.same(
    Object.keys(ipsClaim.spec.devices.config[0].opaque.parameters).sort(),
    ['apiVersion', 'ips', 'kind'],
    'the tenant of the admin network sets only ips',
  )
  t.equal(
    ipsClaim.spec.devices.requests[0].exactly.deviceClassName,
    'demo-ips.network-dra.dev',
    'the admin network of values-demo.yaml',
  )
  // The prioritized-list demo (test/e2e/health-taints.ts asserts what the README shows): the
  // host link does not exist in the e2e, so the slot of the admin network is chosen.
  const pl = load('prioritized-metadata.yaml').find(o => o.kind === 'ResourceClaimTemplate')!
  const plDevices = pl.spec.spec.devices
  t.same(
    (plDevices.requests[0].firstAvailable as Obj[]).map(x => `${x.name}:${x.deviceClassName}`),
    ['fast:host-interface.network-dra.dev', 'slot:demo-ips.network-dra.dev'],
  )
  t.same(
    (plDevices.config as Obj[]).map(
      c => `${(c.requests as string[]).join()}:${c.opaque.parameters.interfaceName ?? '-'}`,
    ),
    ['nic:net1', 'nic/slot:-', 'nic/fast:fast0', 'extra:net2'],
  )
  t.equal(
    plDevices.config[1].opaque.parameters.ips[0],
    '10.10.6.30/24',
    'inside demo-ips (10.10.6.0/24), not the address admin-network-ips.yaml uses',
  )
  const hostif = load('host-interface.yaml').find(o => o.kind === 'ResourceClaim')!
  t.equal(hostif.spec.devices.requests[0].exactly.deviceClassName, 'host-interface.network-dra.dev')
  t.equal(hostif.spec.devices.config[0].opaque.parameters.network.plugins[0].type, 'host-device')
  t.equal(
    hostif.spec.devices.config[0].opaque.parameters.network.plugins[0].device,
    undefined,
    'the driver pins the device',
  )
})

// Invariant: the prioritized-list demo, allocated the way the scheduler's allocator writes it (the
// slot chosen; the class config of demo-ips addressed to `nic/slot`, the claim's entries as
// written), passes the driver's prepare-time checks with the demo allowance and yields net1 on the
// admin network with the `nic/slot` address and net2 on the claim's network; the `nic/fast`
// entry (fast0, host-device) is not applied.
t.test('prioritized-metadata: the plans the driver builds from the allocation', async t => {
  const tpl = load('prioritized-metadata.yaml').find(o => o.kind === 'ResourceClaimTemplate')!
  const admin = demoNetworks.get('demo-ips.network-dra.dev')!
  const classParams = {
    apiVersion: 'network-dra.dev/v1alpha1',
    kind: 'CNIConfig',
    network: admin.network,
  }
  const claimEntries = (tpl.spec.spec.devices.config as Obj[]).map(c => ({
    source: 'FromClaim',
    requests: c.requests as string[],
    opaque: c.opaque as { driver: string; parameters: unknown },
  }))
  const plans = buildAttachmentPlans({
    claim: {
      metadata: { namespace: 'demo', name: 'demo-pl-net-x', uid: 'u' },
      status: {
        allocation: {
          devices: {
            results: [
              { request: 'nic/slot', driver: DRIVER, pool: 'node', device: 'attachment-0' },
              { request: 'extra', driver: DRIVER, pool: 'node', device: 'attachment-1' },
            ],
            config: [
              {
                source: 'FromClass',
                requests: ['nic/slot'],
                opaque: { driver: DRIVER, parameters: classParams },
              },
              ...claimEntries,
            ],
          },
        },
      },
    },
    driverName: DRIVER,
    nodeName: 'node',
    policy: DEMO_ALLOWANCE,
    hostInterface: () => undefined,
  })
  t.same(
    plans.map(p => ({
      request: p.request,
      requestRef: p.requestRef,
      ifName: p.ifName,
      capabilityArgs: p.capabilityArgs,
      type: (p.networkConfig['plugins'] as Obj[])[0]?.type,
      subnet: (p.networkConfig['plugins'] as Obj[])[0]?.ipam.ranges[0][0].subnet,
    })),
    [
      {
        request: 'nic',
        requestRef: 'nic/slot',
        ifName: 'net1',
        capabilityArgs: { ips: ['10.10.6.30/24'] },
        type: 'macvlan',
        subnet: '10.10.6.0/24',
      },
      {
        request: 'extra',
        requestRef: undefined,
        ifName: 'net2',
        capabilityArgs: {},
        type: 'macvlan',
        subnet: '10.10.8.0/24',
      },
    ],
  )
})
