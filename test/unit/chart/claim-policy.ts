// Invariant: the chart's claim admission policy is the daemon's policy in CEL. Every rule message it
// renders is the rule's POLICY_RULES message (static message and messageExpression alike), its
// validations run in the daemon's order of concern, the constant lists it embeds (policy keys, host
// flags, device selectors, non-IPAM types, reserved CNI_ARGS, reserved ranges, CNI versions) equal
// the daemon's, and the admin networks' claimOverrides reach both the DeviceClass config and the
// policy with the contract's defaults (interfaceName/mac true, ips = the network's IPAM subnets).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { RESERVED_CNI_ARGS, RESERVED_CNI_ARG_PREFIXES } from '../../../src/claims/claim-rules.js'
import { ALWAYS_RESERVED } from '../../../src/claims/addresses.js'
import { HOST_FLAGS, POLICY_KEYS } from '../../../src/claims/json-keys.js'
import {
  DEVICE_SELECTORS,
  HOST_CHANGING_TYPES,
  MASTER_PLUGIN_TYPES,
  NON_IPAM_TYPES,
  TENANT_NETWORK_NAME_RE,
} from '../../../src/claims/network-rules.js'
import { POLICY_RULES, RULE_IDS, type RuleId } from '../../../src/claims/policy-rules.js'
import { KNOWN_CNI_VERSIONS } from '../../../src/cni/version.js'
import { chart, helm, one, render, type Obj } from './lib/render.js'

const VAP = 'network-dra-ndra-network-dra-claim-config'

/** The body of one `define` of the chart's CEL helpers. */
function defineBody(name: string): string {
  const text = readFileSync(join(chart, 'templates', '_claim-policy.tpl'), 'utf8')
  const start = text.indexOf(`{{- define "${name}" -}}`)
  if (start < 0) throw new Error(`no define ${name}`)
  const end = text.indexOf('{{- end }}', start)
  return text.slice(start + `{{- define "${name}" -}}`.length, end).trim()
}

/** The quoted strings of a define body (a JSON list or a helm `list "a" "b"`). */
function quoted(body: string): string[] {
  return [...body.matchAll(/"([^"]*)"/g)].map(m => m[1] ?? '')
}

function validations(values: Obj = {}): Obj[] {
  const r = render(values)
  if (!r.ok) throw new Error(r.stderr)
  return one(r.objects, 'ValidatingAdmissionPolicy', VAP).spec.validations as Obj[]
}

if (existsSync(helm)) {
  registerTests()
} else {
  t.fail(`helm binary not found at ${helm} (set HELM to a helm v3 binary)`)
}

function registerTests(): void {
  t.test('every rule message is the POLICY_RULES message', async t => {
    const table = defineBody('network-dra.ruleMessages')
      .split('\n')
      .map(l => {
        const i = l.indexOf(': ')
        return [l.slice(0, i), l.slice(i + 2)] as const
      })
    t.same(
      Object.fromEntries(table),
      Object.fromEntries(RULE_IDS.map(id => [id, POLICY_RULES[id].message])),
      'the chart table is the daemon table',
    )
    const seen: RuleId[] = []
    for (const v of validations()) {
      const m = /^network-dra policy \[([a-z-]+)\] (.*)$/.exec(v.message as string)
      if (m === null) {
        t.match(v.message, /^network-dra: /, 'a non-rule validation is a shape check')
        continue
      }
      const id = m[1] as RuleId
      seen.push(id)
      t.equal(m[2], POLICY_RULES[id].message, `${id}: static message`)
      const expr = v.messageExpression as string
      t.match(expr, `'network-dra policy [${id}] '`, `${id}: messageExpression names the rule`)
      const literal = /\+ '; ' \+ ("(?:[^"\\]|\\.)*")$/.exec(expr.trim())
      t.ok(literal, `${id}: messageExpression ends with the rule message literal`)
      t.equal(
        JSON.parse(literal?.[1] ?? '""'),
        POLICY_RULES[id].message,
        `${id}: messageExpression`,
      )
    }
    t.same(
      seen,
      [
        'limits',
        'tenant-network-namespace',
        'cni-args',
        'claim-override',
        'interface-name',
        'duplicate-key',
        'forbidden-key',
        'key-spelling',
        'network-name',
        'cni-version',
        'plugin-type',
        'host-flag',
        'parent-link',
        'sysctl',
        'reserved-address',
        'address-range',
      ],
      'one validation per rule, in the order a user should fix them (the first failing one is shown)',
    )
  })

  t.test('the CEL constants equal the daemon constants', async t => {
    t.same(quoted(defineBody('network-dra.policyKeys')), [...POLICY_KEYS])
    t.same(JSON.parse(defineBody('network-dra.hostFlags')), [...HOST_FLAGS])
    t.same(JSON.parse(defineBody('network-dra.hostPluginTypes')), [...HOST_CHANGING_TYPES])
    t.same(JSON.parse(defineBody('network-dra.masterPluginTypes')), [...MASTER_PLUGIN_TYPES])
    t.same(JSON.parse(defineBody('network-dra.deviceSelectors')), [...DEVICE_SELECTORS])
    t.same(JSON.parse(defineBody('network-dra.nonIpamTypes')), [...NON_IPAM_TYPES])
    t.same(JSON.parse(defineBody('network-dra.knownCniVersions')), [...KNOWN_CNI_VERSIONS])
    t.same(JSON.parse(defineBody('network-dra.reservedCniArgs')), [...RESERVED_CNI_ARGS])
    t.same(JSON.parse(defineBody('network-dra.reservedCniArgPrefixes')), [
      ...RESERVED_CNI_ARG_PREFIXES,
    ])
    t.same(
      quoted(defineBody('network-dra.reservedCIDRs')),
      ALWAYS_RESERVED.map(r => r.net.text),
    )
    const vap = JSON.stringify(one(render().objects, 'ValidatingAdmissionPolicy', VAP).spec)
    t.ok(
      vap.includes(JSON.stringify(TENANT_NETWORK_NAME_RE.source).slice(1, -1)),
      'network name pattern',
    )
  })

  t.test('policy values reach the CEL', async t => {
    const policy = {
      tenantNetworkNamespaces: ['team-a'],
      allowedPluginTypes: ['macvlan', 'host-local'],
      allowedParentLinks: ['ndra-decoy0'],
      allowedBridges: ['br-t'],
      allowedCIDRs: ['10.10.0.0/16'],
      clusterCIDRs: ['10.244.0.0/16'],
      allowedSysctls: ['net.ipv4.conf.net1.arp_notify'],
      forbiddenKeys: ['dataDir', 'cni.dev/*'],
      limits: { maxDepth: 6, maxNodes: 100, maxBytes: 4096 },
    }
    const r = render({ policy })
    t.ok(r.ok, r.stderr)
    const spec = one(r.objects, 'ValidatingAdmissionPolicy', VAP).spec as Obj
    const vars = Object.fromEntries((spec.variables as Obj[]).map(v => [v.name, v.expression]))
    t.match(vars.granted, 'request.namespace in ["team-a"]')
    for (const v of [
      '["macvlan","host-local"]',
      '["ndra-decoy0"]',
      '["br-t"]',
      '["10.10.0.0/16"]',
      '"10.244.0.0/16"',
      '["net.ipv4.conf.net1.arp_notify"]',
      '["datadir"]',
      '["cni.dev/"]',
    ]) {
      t.ok(JSON.stringify(spec).includes(JSON.stringify(v).slice(1, -1)), `CEL carries ${v}`)
    }
    t.ok(vars.pl6, 'the parameters walk reaches maxDepth')
    t.notOk(vars.pl7, 'and stops there')
    t.match(vars.limitsProblems, '> 100', 'maxNodes')
    t.ok(vars.nw4, 'the network walk reaches maxDepth - 2')
    t.notOk(vars.nw5)
  })

  t.test('admin networks: claimOverrides in the class config and in the CEL', async t => {
    const storage = {
      name: 'storage',
      network: {
        cniVersion: '1.0.0',
        name: 'storage',
        plugins: [
          {
            type: 'macvlan',
            master: 'eth1',
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: '10.20.0.0/24' }], [{ subnet: 'fd00:20::/64' }]],
            },
          },
        ],
      },
    }
    const fixed = {
      name: 'fixed',
      claimOverrides: { interfaceName: false, mac: false, ips: [] },
      network: {
        cniVersion: '1.0.0',
        name: 'fixed',
        plugins: [
          {
            type: 'macvlan',
            master: 'eth1',
            ipam: { type: 'static', addresses: [{ address: '10.30.0.5/24' }] },
          },
        ],
      },
    }
    const explicit = { ...fixed, name: 'explicit', claimOverrides: { ips: ['10.40.0.0/28'] } }
    const r = render({ networks: [storage, fixed, explicit] })
    t.ok(r.ok, r.stderr)
    const cls = (n: string): Obj =>
      one(r.objects, 'DeviceClass', `${n}.network-dra.dev`).spec.config[0].opaque.parameters as Obj
    t.equal(
      cls('storage').claimOverrides,
      undefined,
      'unset claimOverrides are left to the defaults',
    )
    t.same(cls('fixed').claimOverrides, fixed.claimOverrides)
    t.same(cls('explicit').claimOverrides, { ips: ['10.40.0.0/28'] })
    const vars = Object.fromEntries(
      (one(r.objects, 'ValidatingAdmissionPolicy', VAP).spec.variables as Obj[]).map(v => [
        v.name,
        v.expression as string,
      ]),
    )
    t.match(
      vars.overrideProblems,
      '["explicit.network-dra.dev","storage.network-dra.dev"]',
      'interfaceName default true, fixed false',
    )
    t.match(
      vars.addressRangeProblems,
      '{"explicit.network-dra.dev":["10.40.0.0/28"],"fixed.network-dra.dev":[],"storage.network-dra.dev":["10.20.0.0/24","fd00:20::/64"]}',
      'ips: explicit, none, or the IPAM subnets',
    )
  })

  t.test('a ResourceClaimTemplate is judged by its inner spec', async t => {
    const spec = one(render().objects, 'ValidatingAdmissionPolicy', VAP).spec as Obj
    t.same(spec.matchConstraints.resourceRules[0].resources, [
      'resourceclaims',
      'resourceclaimtemplates',
    ])
    const vars = Object.fromEntries((spec.variables as Obj[]).map(v => [v.name, v.expression]))
    t.equal(vars.claimSpec, 'variables.template ? object.spec.spec : object.spec')
  })
}
