/**
 * The hostile-claim corpus (issue 7 contract §5), shared by the unit tier (every case through the
 * real planner) and the integration tier (every case through the real API server's admission).
 * Each case is one thing a hostile tenant could write in a ResourceClaim's CNIConfig, the rule the
 * daemon must refuse it with, and the rule the chart's ValidatingAdmissionPolicy reports (or
 * `not-expressible` when CEL cannot see it). BENIGN_CASES are controls that must pass, so the
 * rules provably do not block the demos.
 *
 * Decoy link names (`ndra-decoy0`, `ndra-eth0`, `ndra-cni0`, `ndra-hostif0`, `ndra-br0`) are veths a
 * test creates; `eth0`/`cni0` appear only as values the policy must refuse, never as links a test
 * touches.
 */
import type { RuleId } from '../../src/claims/policy-rules.js'

/** Where a case's claim lives: `granted` is listed in policy.tenantNetworkNamespaces. */
export type CorpusNamespace = 'tenant' | 'granted'

/** The device class a case's request names. */
export type CorpusDeviceClass = 'attachment' | 'host-interface' | { readonly network: string }

/** One hostile claim. */
export interface HostileCase {
  /** kebab-case, unique */
  readonly id: string
  /** one line: the attack */
  readonly what: string
  readonly namespace: CorpusNamespace
  readonly deviceClass: CorpusDeviceClass
  /** allocated host link for host-interface cases (a decoy name) */
  readonly hostInterface?: string
  /** the CNIConfig opaque parameters object, or */
  readonly parameters?: unknown
  /** raw JSON text (for duplicate keys / exotic spellings), as the API server stores it */
  readonly parametersJson?: string
  /** the rule that must fire in the daemon */
  readonly rule: RuleId
  /** the rule the chart's VAP must report, or why not */
  readonly admission: RuleId | 'not-expressible'
}

/** A claim that must pass both layers (proves the rules do not over-block). */
export interface BenignCase {
  readonly id: string
  readonly what: string
  readonly namespace: CorpusNamespace
  readonly deviceClass: CorpusDeviceClass
  readonly hostInterface?: string
  readonly parameters?: unknown
}

/** Namespace names of the corpus. */
export const CORPUS_NAMESPACES: Readonly<Record<CorpusNamespace, string>> = Object.freeze({
  tenant: 'ndra-tenant',
  granted: 'ndra-granted',
})

/** The decoy host link behind host-interface cases. */
export const CORPUS_HOST_INTERFACE = 'ndra-hostif0'

/** The CNIConfig apiVersion under the default driver name. */
export const CORPUS_API_VERSION = 'network-dra.dev/v1alpha1'

const corpNet = {
  name: 'corp-net',
  network: {
    cniVersion: '1.0.0',
    name: 'corp-net',
    plugins: [
      {
        type: 'macvlan',
        master: 'ndra-decoy0',
        mode: 'bridge',
        capabilities: { ips: true, mac: true },
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.20.0.0/24' }]] },
      },
    ],
  },
}

const corpFixed = {
  name: 'corp-fixed',
  interfaceName: 'corp0',
  claimOverrides: { interfaceName: false, mac: false, ips: [] },
  network: {
    cniVersion: '1.0.0',
    name: 'corp-fixed',
    plugins: [
      {
        type: 'macvlan',
        master: 'ndra-decoy0',
        mode: 'bridge',
        capabilities: { ips: true, mac: true },
        ipam: { type: 'static' },
      },
    ],
  },
}

/**
 * The chart values the corpus assumes beyond the defaults: the demo allowance plus one admin
 * network with default claimOverrides (`corp-net`) and one that allows no override (`corp-fixed`).
 */
export const CORPUS_VALUES = Object.freeze({
  policy: {
    tenantNetworkNamespaces: [CORPUS_NAMESPACES.granted],
    allowedParentLinks: ['ndra-decoy0'],
    allowedBridges: ['ndra-br0'],
    allowedCIDRs: ['10.10.0.0/16', 'fd00:10::/64'],
    clusterCIDRs: ['10.244.0.0/16', '10.96.0.0/12'],
    allowedSysctls: ['net.ipv4.conf.net1.arp_notify'],
  },
  networks: [corpNet, corpFixed],
})

// ---- builders --------------------------------------------------------------------------------

type Json = Record<string, unknown>

function cfg(fields: Json): Json {
  return { apiVersion: CORPUS_API_VERSION, kind: 'CNIConfig', ...fields }
}

function net(plugins: unknown[], extra: Json = {}): Json {
  return { cniVersion: '1.0.0', name: 'tnet', plugins, ...extra }
}

/** A claim CNIConfig with an inline network of these plugins. */
function raw(plugins: unknown[], fields: Json = {}, netExtra: Json = {}): Json {
  return cfg({ interfaceName: 'net1', network: net(plugins, netExtra), ...fields })
}

const hostLocal = (subnet = '10.10.1.0/24', extra: Json = {}): Json => ({
  type: 'host-local',
  ranges: [[{ subnet, ...extra }]],
})

const macvlan = (extra: Json = {}): Json => ({
  type: 'macvlan',
  master: 'ndra-decoy0',
  mode: 'bridge',
  ipam: hostLocal(),
  ...extra,
})

const bridge = (extra: Json = {}): Json => ({
  type: 'bridge',
  bridge: 'ndra-br0',
  ipam: hostLocal('10.10.7.0/24'),
  ...extra,
})

const ptpStatic = (address: string, extra: Json = {}): Json => ({
  type: 'ptp',
  ipam: { type: 'static', addresses: [{ address }] },
  ...extra,
})

const ptpRange = (range: Json): Json => ({
  type: 'ptp',
  ipam: { type: 'host-local', ranges: [[range]] },
})

/** `depth` nested arrays around a zero, as JSON text (JSON.parse handles any depth). */
function nestedArraysJson(depth: number): string {
  return `${'['.repeat(depth)}0${']'.repeat(depth)}`
}

/** A claim whose macvlan plugin carries `key: <nested>` given as raw JSON text. */
function rawWithJsonValue(key: string, valueJson: string): string {
  const base = JSON.stringify(raw([macvlan()]))
  return base.replace('"type":"macvlan"', `"type":"macvlan",${JSON.stringify(key)}:${valueJson}`)
}

/** A raw-network claim as JSON text with the first plugin written out verbatim. */
function rawPluginJson(pluginJson: string, fields: Json = {}): string {
  const marker = '"__plugin__"'
  return JSON.stringify(raw(['__plugin__'], fields)).replace(marker, pluginJson)
}

const G = 'granted' as const
const T = 'tenant' as const
const A = 'attachment' as const
const H = 'host-interface' as const
const corp = { network: 'corp-net' } as const
const fixed = { network: 'corp-fixed' } as const

// ---- the corpus ------------------------------------------------------------------------------

export const HOSTILE_CASES: readonly HostileCase[] = Object.freeze([
  // -- namespace grant (raw networks are opt-in per namespace)
  {
    id: 'raw-network-ungranted-namespace',
    what: 'a tenant outside the granted namespaces writes a (harmless-looking) macvlan network',
    namespace: T,
    deviceClass: A,
    parameters: raw([macvlan()]),
    rule: 'tenant-network-namespace',
    admission: 'tenant-network-namespace',
  },
  {
    id: 'raw-network-over-admin-class',
    what: 'a tenant replaces the network of an admin network class with its own',
    namespace: T,
    deviceClass: corp,
    parameters: raw([macvlan({ master: 'eth0' })]),
    rule: 'tenant-network-namespace',
    admission: 'tenant-network-namespace',
  },
  {
    id: 'raw-host-device-ungranted',
    what: 'a tenant outside the granted namespaces moves its allocated host NIC with its own network',
    namespace: T,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'host-device' }]),
    rule: 'tenant-network-namespace',
    admission: 'tenant-network-namespace',
  },
  {
    id: 'issue-ptp-ipam-upper-case-ungranted',
    what: 'the issue\'s "IPAM": host-device attack from a namespace without the grant',
    namespace: T,
    deviceClass: A,
    parameters: raw([{ type: 'ptp', IPAM: { type: 'host-device' }, device: 'eth0' }]),
    rule: 'tenant-network-namespace',
    admission: 'tenant-network-namespace',
  },

  // -- the cases of the issue text (granted namespace: the deeper rules must still hold)
  {
    id: 'issue-ptp-ipam-upper-case',
    what: '"IPAM" in upper case skips an exact-key IPAM check; Go plugins read it as ipam and run host-device',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'ptp', IPAM: { type: 'host-device' }, device: 'eth0' }]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'issue-ipam-type-upper-case',
    what: '"ipam": {"TYPE": "host-device"} passes an exact-key check of ipam.type',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'macvlan', master: 'ndra-decoy0', ipam: { TYPE: 'host-device' } }]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'issue-resolvconf-long-s',
    what: '"reſolvConf" (U+017F) in host-local: Go folds ſ to s and host-local reads /etc/shadow into the result',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: { ...hostLocal(), ['re\u017FolvConf']: '/etc/shadow' } })]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'issue-macvlan-master-eth0',
    what: 'macvlan on the node uplink joins the node production network',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ master: 'eth0' })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'issue-ipvlan-master-eth0',
    what: 'ipvlan on the node uplink shares the node MAC and network',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'ipvlan', master: 'eth0', ipam: hostLocal() }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'issue-vlan-any-host-link',
    what: 'vlan with any vlanId on a host link taps any VLAN of the node',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'vlan', master: 'eth0', vlanId: 100, ipam: hostLocal() }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'issue-bridge-cni0',
    what: "bridge on cni0 (the cluster's pod bridge) lets the pod spoof other pods",
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ bridge: 'cni0' })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'issue-bridge-isgateway',
    what: 'isGateway puts the gateway address on a host bridge and changes host routing',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ isGateway: true })]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'issue-bridge-ipmasq',
    what: 'ipMasq adds host iptables NAT rules',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ ipMasq: true })]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'issue-ptp-metadata-address',
    what: 'ptp with 169.254.169.254/32 routes the node metadata-service traffic to the pod',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('169.254.169.254/32')]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'issue-ptp-metadata-ips-capability',
    what: 'the same metadata address through the claim-level ips capability',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'ptp', capabilities: { ips: true }, ipam: { type: 'static' } }], {
      ips: ['169.254.169.254/32'],
    }),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'issue-firewall-plugin',
    what: 'firewall puts the pod address into a host firewall zone',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan(), { type: 'firewall', backend: 'iptables' }]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'issue-host-interface-device-eth0',
    what: 'on a host-interface claim, macvlan with device eth0 and host-device IPAM moves an unallocated NIC',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'macvlan', device: 'eth0', ipam: { type: 'host-device' } }]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'issue-2000-nested-arrays',
    what: '2,000 nested arrays (4 KiB) crashed a recursive key walk with a stack overflow',
    namespace: G,
    deviceClass: A,
    parametersJson: rawWithJsonValue('x', nestedArraysJson(2000)),
    rule: 'limits',
    admission: 'limits',
  },
  {
    id: 'issue-cni-version-99',
    what: 'cniVersion 99.0.0 passed prepare and failed only at container start',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { cniVersion: '99.0.0' }),
    rule: 'cni-version',
    admission: 'cni-version',
  },

  // -- key spellings (Go matches struct fields case-insensitively)
  {
    id: 'spelling-type-upper-only',
    what: '"TYPE" instead of "type" on a plugin',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ TYPE: 'macvlan', master: 'ndra-decoy0', ipam: hostLocal() }]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-master-capitalised',
    what: '"Master": eth0 is read by macvlan as master',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'macvlan', Master: 'eth0', ipam: hostLocal() }]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-bridge-capitalised',
    what: '"Bridge": cni0 is read by the bridge plugin as bridge',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'bridge', Bridge: 'cni0', ipam: hostLocal('10.10.7.0/24') }]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-isgateway-capitalised',
    what: '"IsGateway": true slips past an exact host-flag check',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ IsGateway: true })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-ipmasq-upper',
    what: '"IPMASQ": true slips past an exact host-flag check',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ IPMASQ: true })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-subnet-upper',
    what: '"Subnet" in a host-local range escapes the CIDR check',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan({ ipam: { type: 'host-local', ranges: [[{ Subnet: '169.254.0.0/16' }]] } }),
    ]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-rangestart-upper',
    what: '"RANGESTART" escapes the range check',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: hostLocal('10.10.1.0/24', { RANGESTART: '10.99.0.1' }) })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-ranges-capitalised',
    what: '"Ranges" escapes the range check',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan({ ipam: { type: 'host-local', Ranges: [[{ subnet: '127.0.0.0/8' }]] } }),
    ]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-addresses-capitalised',
    what: '"Addresses" in static IPAM escapes the address check',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      { type: 'ptp', ipam: { type: 'static', Addresses: [{ address: '169.254.169.254/32' }] } },
    ]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-address-upper',
    what: '"ADDRESS" inside a static address entry',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      { type: 'ptp', ipam: { type: 'static', addresses: [{ ADDRESS: '127.0.0.1/8' }] } },
    ]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-gateway-capitalised',
    what: '"Gateway" of a static address escapes the gateway check',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      {
        type: 'ptp',
        ipam: {
          type: 'static',
          addresses: [{ address: '10.10.2.5/24', Gateway: '169.254.169.254' }],
        },
      },
    ]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-sysctl-capitalised',
    what: '"Sysctl" on tuning escapes the sysctl allow-list',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan(), { type: 'tuning', Sysctl: { 'net.ipv4.ip_forward': '1' } }]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-capabilities-upper',
    what: '"CAPABILITIES" hides which runtime args a plugin takes',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ CAPABILITIES: { ips: true } })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-device-in-ipam',
    what: '"Device" in IPAM hides a host NIC name',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: { ...hostLocal(), Device: 'eth0' } })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-plugin-name-upper',
    what: '"NAME": cbr0 on a plugin tries to reuse the cluster network IPAM directory',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ NAME: 'cbr0' })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-plugin-cniversion-upper',
    what: '"CNIVersion" on a plugin tries to pick another result format',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ CNIVersion: '99.0.0' })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'spelling-plugins-capitalised',
    what: '"Plugins" next to plugins at network level',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { Plugins: [{ type: 'host-device', device: 'eth0' }] }),
    rule: 'key-spelling',
    admission: 'duplicate-key',
  },
  {
    id: 'spelling-vlanid-upper',
    what: '"VLANID" on vlan',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'vlan', master: 'ndra-decoy0', VLANID: 4000, ipam: hostLocal() }]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },

  // -- Unicode simple folding as Go's encoding/json applies it
  {
    id: 'fold-long-s-master',
    what: '"maſter" (U+017F) is read by Go as master',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'macvlan', ['ma\u017Fter']: 'eth0', ipam: hostLocal() }]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'fold-long-s-subnet',
    what: '"ſubnet" (U+017F) in a range is read as subnet',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan({ ipam: { type: 'host-local', ranges: [[{ ['\u017Fubnet']: '127.0.0.0/8' }]] } }),
    ]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'fold-long-s-sysctl',
    what: '"ſyſctl" (U+017F twice) on tuning is read as sysctl',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan(),
      { type: 'tuning', ['\u017Fy\u017Fctl']: { 'net.ipv4.ip_forward': '1' } },
    ]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'fold-long-s-isgateway',
    what: '"iſGateway" (U+017F) is read as isGateway',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ ['i\u017FGateway']: true })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'fold-kelvin-ipmasqbackend',
    what: '"ipMasqBacK" with a Kelvin sign (U+212A) is read as ipMasqBackend',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ ['ipMasqBac\u212Aend']: 'nftables' })]),
    rule: 'key-spelling',
    admission: 'key-spelling',
  },
  {
    id: 'fold-kelvin-kubeconfig',
    what: '"Kubeconfig" with a Kelvin sign (U+212A) is read as kubeconfig',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ['\u212Aubeconfig']: '/etc/kubernetes/admin.conf' })]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'fold-kelvin-kernelpath',
    what: '"Kernelpath" with a Kelvin sign on host-device selects a NIC by sysfs path',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'host-device', ['\u212Aernelpath']: '/sys/class/net/eth0' }]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'fold-long-s-socketpath',
    what: '"ſocketPath" (U+017F) is read as socketPath',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ['\u017FocketPath']: '/run/containerd/containerd.sock' })]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'fold-long-s-daemonsocketpath',
    what: '"daemonſocketPath" in IPAM is read as daemonSocketPath',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan({ ipam: { ...hostLocal(), ['daemon\u017FocketPath']: '/run/x.sock' } }),
    ]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'fold-long-s-resolvconf-plugin-level',
    what: '"reſolvConf" at plugin level',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ['re\u017FolvConf']: '/etc/shadow' })]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'fold-ascii-datadir-upper',
    what: '"DATADIR" in host-local points IPAM state at a host directory',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: { ...hostLocal(), DATADIR: '/etc' } })]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'fold-ascii-log-file-upper',
    what: '"LOG_FILE" makes a plugin write a host file',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ LOG_FILE: '/etc/cron.d/x' })]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'fold-cni-dev-prefix-upper',
    what: '"CNI.Dev/foo" hits the reserved cni.dev/ key prefix',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ 'CNI.Dev/foo': 'x' })]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'forbidden-runtimeconfig-in-ipam',
    what: 'runtimeConfig inside IPAM requests addresses around the policy',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan({ ipam: { ...hostLocal(), runtimeConfig: { ips: ['169.254.169.254/32'] } } }),
    ]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },
  {
    id: 'forbidden-datadir-deep',
    what: 'dataDir hidden three arrays deep',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ extra: [[[{ dataDir: '/etc' }]]] })]),
    rule: 'forbidden-key',
    admission: 'forbidden-key',
  },

  // -- duplicate keys that fold to one name (only visible in the raw JSON)
  {
    id: 'duplicate-ipam-and-upper-ipam',
    what: '"ipam" checked, "IPAM" (later in Go key order) used by the plugin',
    namespace: G,
    deviceClass: A,
    parametersJson: rawPluginJson(
      '{"type":"macvlan","master":"ndra-decoy0","ipam":{"type":"host-local","ranges":[[{"subnet":"10.10.1.0/24"}]]},"IPAM":{"type":"host-device","device":"eth0"}}',
    ),
    rule: 'duplicate-key',
    admission: 'duplicate-key',
  },
  {
    id: 'duplicate-master-long-s',
    what: '"master" checked, "maſter" also read as master',
    namespace: G,
    deviceClass: A,
    parametersJson: rawPluginJson(
      '{"type":"macvlan","master":"ndra-decoy0","ma\\u017fter":"eth0","ipam":{"type":"host-local","ranges":[[{"subnet":"10.10.1.0/24"}]]}}',
    ),
    rule: 'duplicate-key',
    admission: 'duplicate-key',
  },
  {
    id: 'duplicate-subnet-long-s',
    what: 'two subnets in one range, one spelled with ſ',
    namespace: G,
    deviceClass: A,
    parametersJson: rawPluginJson(
      '{"type":"macvlan","master":"ndra-decoy0","ipam":{"type":"host-local","ranges":[[{"subnet":"10.10.1.0/24","\\u017fubnet":"169.254.0.0/16"}]]}}',
    ),
    rule: 'duplicate-key',
    admission: 'duplicate-key',
  },
  {
    id: 'duplicate-type-upper',
    what: '"type": macvlan and "Type": host-device on one plugin',
    namespace: G,
    deviceClass: A,
    parametersJson: rawPluginJson(
      '{"type":"macvlan","Type":"host-device","master":"ndra-decoy0","ipam":{"type":"host-local","ranges":[[{"subnet":"10.10.1.0/24"}]]}}',
    ),
    rule: 'duplicate-key',
    admission: 'duplicate-key',
  },
  {
    id: 'duplicate-exact-type',
    what: 'the same key twice: the JSON decoders keep the last one (host-device), so that one is judged',
    namespace: G,
    deviceClass: A,
    parametersJson: rawPluginJson('{"type":"macvlan","type":"host-device","device":"eth0"}'),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },

  // -- nesting and size limits
  {
    id: 'limits-deep-objects',
    what: 'objects nested 40 deep inside a plugin',
    namespace: G,
    deviceClass: A,
    parametersJson: rawWithJsonValue('x', `${'{"a":'.repeat(40)}0${'}'.repeat(40)}`),
    rule: 'limits',
    admission: 'limits',
  },
  {
    id: 'limits-depth-just-over',
    what: 'nesting one level over maxDepth (16)',
    namespace: G,
    deviceClass: A,
    parametersJson: rawWithJsonValue('x', nestedArraysJson(13)),
    rule: 'limits',
    admission: 'limits',
  },
  {
    id: 'limits-too-many-nodes',
    what: 'a flat array of 2,500 numbers (over maxNodes 2000)',
    namespace: G,
    deviceClass: A,
    parametersJson: rawWithJsonValue('x', `[${new Array(2500).fill('0').join(',')}]`),
    rule: 'limits',
    admission: 'limits',
  },
  {
    id: 'limits-too-many-bytes',
    what: 'a 17,000-character string (over maxBytes 16384)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ x: 'a'.repeat(17000) })]),
    rule: 'limits',
    admission: 'not-expressible',
  },

  // -- macvlan / ipvlan / vlan parents
  {
    id: 'macvlan-no-master',
    what: 'macvlan without master uses the default-route link: the node uplink',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'macvlan', mode: 'bridge', ipam: hostLocal() }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'macvlan-master-unlisted',
    what: 'macvlan on a host link that is not in allowedParentLinks',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ master: 'ndra-eth0' })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'macvlan-master-empty',
    what: 'macvlan with master "" (treated as unset: default-route link)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ master: '' })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'macvlan-master-not-a-string',
    what: 'macvlan with master given as a number',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ master: 2 })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'macvlan-master-prefix-of-allowed',
    what: 'a link whose name only starts with an allowed one',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ master: 'ndra-decoy0.100' })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'ipvlan-no-master',
    what: 'ipvlan without master uses the node uplink',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'ipvlan', mode: 'l2', ipam: hostLocal() }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'ipvlan-master-cluster-bridge',
    what: 'ipvlan on the cluster bridge',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'ipvlan', master: 'ndra-cni0', ipam: hostLocal() }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'vlan-no-master',
    what: 'vlan without master',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'vlan', vlanId: 7, ipam: hostLocal() }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'vlan-master-unlisted',
    what: 'vlan on an unlisted host link',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'vlan', master: 'ndra-eth0', vlanId: 7, ipam: hostLocal() }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'macvlan-second-plugin-unlisted',
    what: 'a harmless first plugin and a macvlan on eth0 second in the list',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan(), { type: 'macvlan', master: 'eth0' }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },

  // -- bridge
  {
    id: 'bridge-no-name',
    what: 'bridge without a name joins (or creates) cni0',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'bridge', ipam: hostLocal('10.10.7.0/24') }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'bridge-unlisted',
    what: 'bridge on a host bridge not in allowedBridges',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ bridge: 'ndra-cni0' })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'bridge-is-default-gateway',
    what: 'isDefaultGateway turns the host bridge into the pod default gateway',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ isDefaultGateway: true })]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'bridge-force-address',
    what: 'forceAddress replaces the host bridge address',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ forceAddress: true })]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'bridge-hairpin-mode',
    what: 'hairpinMode changes the host bridge port',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ hairpinMode: true })]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'bridge-promisc-mode',
    what: 'promiscMode makes the host bridge promiscuous',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ promiscMode: true })]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'bridge-ipmasq-backend',
    what: 'ipMasqBackend selects the host NAT backend',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ ipMasqBackend: 'iptables' })]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'ptp-ipmasq',
    what: 'ptp with ipMasq adds host NAT rules',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ ...ptpStatic('10.10.2.5/32'), ipMasq: true }]),
    rule: 'host-flag',
    admission: 'host-flag',
  },
  {
    id: 'portmap-plugin',
    what: 'portmap adds host DNAT rules',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan(), { type: 'portmap', capabilities: { portMappings: true } }]),
    rule: 'host-flag',
    admission: 'host-flag',
  },

  // -- addresses
  {
    id: 'address-loopback',
    what: 'ptp with 127.0.0.1/8 hijacks loopback traffic on the host side',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('127.0.0.1/8')]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-pod-cidr-range',
    what: 'a host-local range inside the cluster pod CIDR',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpRange({ subnet: '10.244.1.0/24' })]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-service-cidr',
    what: 'a static address inside the service CIDR (kube-dns)',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('10.96.0.10/32')]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-multicast',
    what: 'a multicast address',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('224.0.0.1/32')]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-unspecified-range',
    what: 'a host-local range of 0.0.0.0/0 (everything)',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpRange({ subnet: '0.0.0.0/0' })]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-ipv6-link-local',
    what: 'an IPv6 link-local address',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('fe80::1/64')]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-ipv6-loopback',
    what: 'the IPv6 loopback address',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('::1/128')]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-ipv4-mapped-metadata',
    what: '::ffff:169.254.169.254 is the metadata address to Go (IPv4-mapped IPv6)',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('::ffff:169.254.169.254/128')]),
    rule: 'reserved-address',
    admission: 'address-range',
  },
  {
    id: 'address-outside-allowed',
    what: 'a static address outside allowedCIDRs',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('192.168.1.5/24')]),
    rule: 'address-range',
    admission: 'address-range',
  },
  {
    id: 'address-range-wider-than-allowed',
    what: 'a range 10.10.0.0/15 that covers allowed 10.10.0.0/16 and more',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpRange({ subnet: '10.10.0.0/15' })]),
    rule: 'address-range',
    admission: 'address-range',
  },
  {
    id: 'address-range-start-outside',
    what: 'rangeStart outside the allowed CIDRs',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpRange({ subnet: '10.10.2.0/24', rangeStart: '10.11.0.5' })]),
    rule: 'address-range',
    admission: 'address-range',
  },
  {
    id: 'address-range-end-outside',
    what: 'rangeEnd outside the allowed CIDRs',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpRange({ subnet: '10.10.2.0/24', rangeEnd: '192.168.0.9' })]),
    rule: 'address-range',
    admission: 'address-range',
  },
  {
    id: 'address-range-gateway-metadata',
    what: 'ptp puts the range gateway on the host side: a gateway of 169.254.169.254',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpRange({ subnet: '10.10.2.0/24', gateway: '169.254.169.254' })]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-legacy-ipam-subnet',
    what: 'the legacy ipam-level subnet of host-local',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'ptp', ipam: { type: 'host-local', subnet: '169.254.0.0/16' } }]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-static-gateway-metadata',
    what: 'a static address with gateway 169.254.169.254',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      {
        type: 'ptp',
        ipam: {
          type: 'static',
          addresses: [{ address: '10.10.2.5/24', gateway: '169.254.169.254' }],
        },
      },
    ]),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'address-route-gateway-outside',
    what: 'a route whose gateway is outside allowedCIDRs',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      {
        type: 'ptp',
        ipam: {
          type: 'static',
          addresses: [{ address: '10.10.2.5/24' }],
          routes: [{ dst: '0.0.0.0/0', gw: '192.168.0.1' }],
        },
      },
    ]),
    rule: 'address-range',
    admission: 'address-range',
  },
  {
    id: 'address-not-parsable',
    what: 'an address that does not parse (cannot be judged, so refused)',
    namespace: G,
    deviceClass: A,
    parameters: raw([ptpStatic('10.10.0.300/24')]),
    rule: 'address-range',
    admission: 'address-range',
  },
  {
    id: 'address-claim-ips-outside',
    what: 'claim-level ips outside allowedCIDRs',
    namespace: G,
    deviceClass: A,
    parameters: raw(
      [
        {
          type: 'macvlan',
          master: 'ndra-decoy0',
          capabilities: { ips: true },
          ipam: { type: 'static' },
        },
      ],
      { ips: ['192.168.0.5/24'] },
    ),
    rule: 'address-range',
    admission: 'address-range',
  },

  // -- tuning sysctls
  {
    id: 'sysctl-ip-forward',
    what: 'tuning enables IP forwarding',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan(), { type: 'tuning', sysctl: { 'net.ipv4.ip_forward': '1' } }]),
    rule: 'sysctl',
    admission: 'sysctl',
  },
  {
    id: 'sysctl-all-forwarding',
    what: 'tuning sets net.ipv4.conf.all.forwarding',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan(),
      { type: 'tuning', sysctl: { 'net.ipv4.conf.all.forwarding': '1' } },
    ]),
    rule: 'sysctl',
    admission: 'sysctl',
  },
  {
    id: 'sysctl-kernel',
    what: 'tuning tries a non-network sysctl',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan(), { type: 'tuning', sysctl: { 'kernel.core_pattern': '|/tmp/x' } }]),
    rule: 'sysctl',
    admission: 'sysctl',
  },
  {
    id: 'sysctl-path-traversal',
    what: 'a sysctl name with a path traversal',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan(),
      { type: 'tuning', sysctl: { 'net/../../kernel/core_pattern': '|/tmp/x' } },
    ]),
    rule: 'sysctl',
    admission: 'sysctl',
  },
  {
    id: 'sysctl-case-variant-of-allowed',
    what: 'an allowed sysctl in another case is a different file: not allowed',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      macvlan(),
      { type: 'tuning', sysctl: { 'NET.ipv4.conf.net1.arp_notify': '1' } },
    ]),
    rule: 'sysctl',
    admission: 'sysctl',
  },

  // -- plugin and IPAM types
  {
    id: 'host-device-on-attachment',
    what: 'host-device on an attachment slot moves an unallocated host NIC',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'host-device', device: 'ndra-decoy0' }]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'ipam-host-device-on-attachment',
    what: 'host-device as IPAM of a macvlan',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: { type: 'host-device', device: 'eth0' } })]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'ipam-interface-plugin-as-ipam',
    what: 'the bridge plugin run as IPAM (it reads the plugin config and joins a host bridge)',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'ptp', bridge: 'cni0', ipam: { type: 'bridge' } }]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'ipam-dhcp',
    what: 'dhcp IPAM talks to the node dhcp daemon socket',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: { type: 'dhcp' } })]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'plugin-type-absolute-path',
    what: 'type is a path to a host binary',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: '/usr/bin/sh' }]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'plugin-type-relative-path',
    what: 'type climbs out of the CNI bin dir',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: '../../bin/sh' }]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'plugin-type-unlisted',
    what: 'a plugin type the admin did not allow',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'whereabouts-shim' }]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'ipam-type-path',
    what: 'IPAM type is a path',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: { type: '/tmp/ipam' } })]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },
  {
    id: 'ipam-type-not-a-string',
    what: 'IPAM type is an object',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: { type: { name: 'host-device' } } })]),
    rule: 'plugin-type',
    admission: 'plugin-type',
  },

  // -- host-device and host-interface pinning
  {
    id: 'host-device-other-device',
    what: 'on a host-interface claim, host-device names a NIC that was not allocated',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'host-device', device: 'ndra-eth0' }]),
    rule: 'parent-link',
    admission: 'not-expressible',
  },
  {
    id: 'host-device-hwaddr',
    what: 'host-device selects a NIC by MAC',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'host-device', hwaddr: '02:00:00:00:00:01' }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'host-device-pci-bus-id',
    what: 'host-device selects a NIC by PCI address',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'host-device', pciBusID: '0000:00:03.0' }]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'host-interface-macvlan-other-master',
    what: 'on a host-interface claim, macvlan on another link',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'macvlan', master: 'eth0', ipam: hostLocal() }]),
    rule: 'parent-link',
    admission: 'not-expressible',
  },
  {
    id: 'host-interface-second-plugin-allowed-parent',
    what: 'on a host-interface claim, a second macvlan on an allowed parent that is not the allocated link',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'host-device' }, macvlan()]),
    rule: 'parent-link',
    admission: 'not-expressible',
  },
  {
    id: 'ipam-device-key',
    what: 'a device key in IPAM names a host NIC',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: { ...hostLocal(), device: 'eth0' } })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },
  {
    id: 'device-key-on-macvlan',
    what: 'a device key on a non-host-device plugin (read if the plugin runs host-device IPAM)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ device: 'eth0' })]),
    rule: 'parent-link',
    admission: 'parent-link',
  },

  // -- CNI_ARGS injection
  {
    id: 'cni-args-semicolon-in-key',
    what: 'a ";" in a key appends a pair of the attacker\'s choice',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { 'A;IP': '169.254.169.254' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-semicolon-in-value',
    what: 'a ";" in a value impersonates another pod',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { FOO: 'x;K8S_POD_NAME=victim' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-equals-in-value',
    what: 'an "=" in a value',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { FOO: 'IP=169.254.169.254' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-k8s-pod-name',
    what: 'K8S_POD_NAME overrides the pod identity',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { K8S_POD_NAME: 'victim' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-k8s-lower-case',
    what: 'k8s_pod_namespace in lower case',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { k8s_pod_namespace: 'kube-system' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-ignore-unknown',
    what: 'IgnoreUnknown changes how plugins parse CNI_ARGS',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { IgnoreUnknown: 'false' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-ip',
    what: 'IP= asks host-local/static for any address, around allowedCIDRs',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { IP: '169.254.169.254' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-mac',
    what: 'MAC= sets the MAC around the mac override rules',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { MAC: '00:00:5e:00:01:01' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-gateway',
    what: 'GATEWAY= sets a static gateway around the address rules',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { GATEWAY: '169.254.169.254' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-driver-key',
    what: 'an NDRA_ key the driver reserves',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { NDRA_CLAIM: 'other' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-nul',
    what: 'a NUL byte in a value',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { FOO: 'a\u0000b' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-ungranted-namespace',
    what: 'cniArgs on an admin network from a namespace without the grant',
    namespace: T,
    deviceClass: corp,
    parameters: cfg({ cniArgs: { FOO: 'bar' } }),
    rule: 'cni-args',
    admission: 'cni-args',
  },
  {
    id: 'cni-args-config-args-key',
    what: 'the plugin-config "args" key (args.cni.ips) requests addresses around the policy',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ args: { cni: { ips: ['169.254.169.254'] } } })]),
    rule: 'cni-args',
    admission: 'cni-args',
  },

  // -- admin network overrides
  {
    id: 'override-ips-outside-network',
    what: 'ips outside the admin network range',
    namespace: T,
    deviceClass: corp,
    parameters: cfg({ ips: ['10.21.0.5/24'] }),
    rule: 'address-range',
    admission: 'address-range',
  },
  {
    id: 'override-ips-metadata',
    what: 'the metadata address as an override',
    namespace: T,
    deviceClass: corp,
    parameters: cfg({ ips: ['169.254.169.254/32'] }),
    rule: 'reserved-address',
    admission: 'reserved-address',
  },
  {
    id: 'override-mac-not-allowed',
    what: 'a MAC on an admin network whose claimOverrides.mac is false',
    namespace: T,
    deviceClass: fixed,
    parameters: cfg({ mac: '02:00:00:00:00:05' }),
    rule: 'claim-override',
    admission: 'claim-override',
  },
  {
    id: 'override-interface-name-not-allowed',
    what: 'an interfaceName on an admin network whose claimOverrides.interfaceName is false',
    namespace: T,
    deviceClass: fixed,
    parameters: cfg({ interfaceName: 'net9' }),
    rule: 'claim-override',
    admission: 'claim-override',
  },
  {
    id: 'override-ips-not-allowed',
    what: 'ips on an admin network whose claimOverrides.ips is []',
    namespace: T,
    deviceClass: fixed,
    parameters: cfg({ ips: ['10.20.0.5/24'] }),
    rule: 'claim-override',
    admission: 'claim-override',
  },
  {
    id: 'override-claim-overrides-in-claim',
    what: 'a claim grants itself claimOverrides',
    namespace: T,
    deviceClass: fixed,
    parameters: cfg({ claimOverrides: { ips: ['0.0.0.0/0'] } }),
    rule: 'claim-override',
    admission: 'claim-override',
  },

  // -- interface names
  {
    id: 'interface-name-eth0',
    what: 'interfaceName eth0 collides with the pod primary interface',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { interfaceName: 'eth0' }),
    rule: 'interface-name',
    admission: 'interface-name',
  },
  {
    id: 'interface-name-lo',
    what: 'interfaceName lo',
    namespace: T,
    deviceClass: corp,
    parameters: cfg({ interfaceName: 'lo' }),
    rule: 'interface-name',
    admission: 'interface-name',
  },
  {
    id: 'interface-name-slash',
    what: 'an interface name with "/" (a path under /proc/sys/net)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { interfaceName: '../all' }),
    rule: 'interface-name',
    admission: 'interface-name',
  },
  {
    id: 'interface-name-dot-dot',
    what: 'interfaceName ".."',
    namespace: T,
    deviceClass: corp,
    parameters: cfg({ interfaceName: '..' }),
    rule: 'interface-name',
    admission: 'interface-name',
  },
  {
    id: 'interface-name-too-long',
    what: 'a 16-character interface name (IFNAMSIZ is 16 with the NUL)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { interfaceName: 'abcdefghijklmnop' }),
    rule: 'interface-name',
    admission: 'interface-name',
  },
  {
    id: 'interface-name-space',
    what: 'an interface name with a space',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { interfaceName: 'net 1' }),
    rule: 'interface-name',
    admission: 'interface-name',
  },

  // -- network names
  {
    id: 'network-name-dotted-admin-name',
    what: 'a tenant network named like a derived admin network name',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { name: 'ndra.class.corp-net' }),
    rule: 'network-name',
    admission: 'network-name',
  },
  {
    id: 'network-name-path',
    what: 'a network name with a path (host-local keeps its state under the name)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { name: '../../etc' }),
    rule: 'network-name',
    admission: 'network-name',
  },
  {
    id: 'network-name-too-long',
    what: 'a 64-character network name',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { name: 'n'.repeat(64) }),
    rule: 'network-name',
    admission: 'network-name',
  },
  {
    id: 'network-name-zero-width',
    what: 'cbr0 with a zero-width space looks like the cluster network name',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { name: 'cbr0\u200B' }),
    rule: 'network-name',
    admission: 'network-name',
  },

  // -- versions
  {
    id: 'cni-version-two-parts',
    what: 'cniVersion "1.0" (not a full version)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { cniVersion: '1.0' }),
    rule: 'cni-version',
    admission: 'cni-version',
  },
  {
    id: 'cni-version-unknown-patch',
    what: 'cniVersion 0.0.1 (no such CNI version)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { cniVersion: '0.0.1' }),
    rule: 'cni-version',
    admission: 'cni-version',
  },
  {
    id: 'cni-version-empty',
    what: 'cniVersion ""',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { cniVersion: '' }),
    rule: 'cni-version',
    admission: 'cni-version',
  },
  {
    id: 'cni-versions-list-unknown',
    what: 'cniVersions listing an unknown version',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { cniVersions: ['1.0.0', '99.0.0'] }),
    rule: 'cni-version',
    admission: 'cni-version',
  },
])

// ---- controls that must pass -----------------------------------------------------------------

export const BENIGN_CASES: readonly BenignCase[] = Object.freeze([
  {
    id: 'demo-a-macvlan',
    what: 'demo A: macvlan on the allowed parent with host-local in an allowed CIDR',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { name: 'demo-a' }),
  },
  {
    id: 'demo-c-macvlan',
    what: 'demo C: the same shape with its own subnet',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ ipam: hostLocal('10.10.3.0/24') })], {}, { name: 'demo-c' }),
  },
  {
    id: 'host-interface-host-device-static',
    what: 'the host-interface example: host-device pinned to the allocated NIC, static address',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw(
      [
        {
          type: 'host-device',
          ipam: { type: 'static', addresses: [{ address: '10.10.5.10/24' }] },
        },
      ],
      {},
      { name: 'demo-hostif' },
    ),
  },
  {
    id: 'host-interface-macvlan-on-allocated',
    what: 'macvlan on the allocated host interface, master left to the driver',
    namespace: G,
    deviceClass: H,
    hostInterface: CORPUS_HOST_INTERFACE,
    parameters: raw([{ type: 'macvlan', mode: 'bridge', ipam: hostLocal('10.10.6.0/24') }]),
  },
  {
    id: 'admin-network-ips-only',
    what: 'a tenant names the admin network and sets only ips inside its range',
    namespace: T,
    deviceClass: corp,
    parameters: cfg({ interfaceName: 'net1', ips: ['10.20.0.5/24'] }),
  },
  {
    id: 'admin-network-nothing-set',
    what: 'a tenant names the admin network and sets nothing',
    namespace: T,
    deviceClass: corp,
  },
  {
    id: 'admin-network-fixed-nothing-set',
    what: 'an admin network that allows no override, used as is',
    namespace: T,
    deviceClass: fixed,
  },
  {
    id: 'bridge-allowed',
    what: 'bridge on the allowed bridge, no host flags',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge()]),
  },
  {
    id: 'tuning-allowed-sysctl-and-mac',
    what: 'tuning with an allowed sysctl and a claim MAC',
    namespace: G,
    deviceClass: A,
    parameters: raw(
      [
        macvlan(),
        {
          type: 'tuning',
          capabilities: { mac: true },
          sysctl: { 'net.ipv4.conf.net1.arp_notify': '1' },
        },
      ],
      { mac: '02:00:00:00:00:07' },
    ),
  },
  {
    id: 'ptp-with-meta-plugins',
    what: 'ptp with static address and route, then sbr and bandwidth',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      {
        type: 'ptp',
        ipam: {
          type: 'static',
          addresses: [{ address: '10.10.9.2/24', gateway: '10.10.9.1' }],
          routes: [{ dst: '0.0.0.0/0', gw: '10.10.9.1' }],
        },
      },
      { type: 'sbr' },
      { type: 'bandwidth', ingressRate: 1000000, ingressBurst: 100000 },
    ]),
  },
  {
    id: 'vlan-allowed-parent',
    what: 'vlan on the allowed parent',
    namespace: G,
    deviceClass: A,
    parameters: raw([
      { type: 'vlan', master: 'ndra-decoy0', vlanId: 100, ipam: hostLocal('10.10.8.0/24') },
    ]),
  },
  {
    id: 'ipvlan-ipv6',
    what: 'ipvlan with an IPv6 range inside an allowed CIDR',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'ipvlan', master: 'ndra-decoy0', ipam: hostLocal('fd00:10::/64') }]),
  },
  {
    id: 'network-named-cbr0',
    what: 'a tenant network named cbr0: harmless, the driver derives the name the plugins see',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], {}, { name: 'cbr0' }),
  },
  {
    id: 'cni-args-plain',
    what: 'a plain cniArgs pair in the granted namespace',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan()], { cniArgs: { FOO: 'bar' } }),
  },
  {
    id: 'host-flags-false',
    what: 'host flags explicitly off are harmless',
    namespace: G,
    deviceClass: A,
    parameters: raw([bridge({ isGateway: false, ipMasq: false, hairpinMode: false })]),
  },
  {
    id: 'unknown-keys-any-case',
    what: 'keys the policy does not rely on may be spelled freely (MTU, Mode-like extras)',
    namespace: G,
    deviceClass: A,
    parameters: raw([macvlan({ MTU: 1400, comment: 'x' })]),
  },
  {
    id: 'loopback-plugin',
    what: 'the loopback plugin alone',
    namespace: G,
    deviceClass: A,
    parameters: raw([{ type: 'loopback' }]),
  },
])
