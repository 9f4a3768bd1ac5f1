/**
 * The per-plugin-type rules for a network a claim writes itself (a "raw network"): every field a
 * plugin reads that reaches a host resource is checked against the admin lists of the policy.
 * - parents: macvlan/ipvlan/vlan `master` is required and must be an allowed parent link, or the
 *   allocated host interface (then every plugin of the list is pinned to it); bridge `bridge` is
 *   required (the plugin's default is cni0) and must be an allowed bridge; `device`/`hwaddr`/
 *   `pciBusID` name host NICs and are only for host-device on a host-interface claim, naming the
 *   allocated one;
 * - types: plugin and IPAM types from allowedPluginTypes, bare names, IPAM types only as IPAM (an
 *   IPAM plugin receives the whole plugin config, so bridge-as-IPAM would join a host bridge);
 *   host-device only with an allocated host interface; firewall/portmap never;
 * - host flags (isGateway, ipMasq, …) never; the plugin-config `args` key never (it requests
 *   addresses, sysctls and MACs around these rules);
 * - tuning sysctls only from allowedSysctls;
 * - every address, subnet, range bound and gateway inside the allowed CIDRs and outside reserved
 *   ranges. Route destinations are not limited: they change only the pod's own routing table.
 * Also here: the static cniVersion check (all networks) and the tenant network name rule.
 */
import { judgeAddress, type AddressBounds } from './addresses.js'
import type { NetworkConfList } from './cni-config.js'
import { HOST_FLAGS, keyPath, showKey } from './json-keys.js'
import { typeProblem, type Policy } from './policy.js'
import { problem, type PolicyProblem } from './policy-rules.js'
import { KNOWN_CNI_VERSIONS } from '../cni/version.js'

/** Plugins that take a host link as parent in `master`. */
export const MASTER_PLUGIN_TYPES: readonly string[] = ['macvlan', 'ipvlan', 'vlan']
/** The plugin that moves a host interface into the pod (`device`). */
export const HOST_DEVICE_TYPE = 'host-device'
/** Plugin types that change the node's firewall: admin networks only. */
export const HOST_CHANGING_TYPES: readonly string[] = ['firewall', 'portmap']
/** Keys that select a host NIC (host-device). */
export const DEVICE_SELECTORS: readonly string[] = ['device', 'hwaddr', 'pciBusID']
/** Plugin types that are not IPAM plugins (as IPAM they would act on the whole plugin config). */
export const NON_IPAM_TYPES: readonly string[] = [
  'bridge',
  'macvlan',
  'ipvlan',
  'vlan',
  'ptp',
  'host-device',
  'tuning',
  'bandwidth',
  'sbr',
  'loopback',
  'firewall',
  'portmap',
  'vrf',
  'dummy',
  'tap',
]

/** Tenant network names (the driver derives the name the plugins see from it). */
export const TENANT_NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/

/** Context of a raw-network check. */
export interface RawNetworkContext {
  /** Field path of the network, for messages. */
  readonly path: string
  /** The host interface allocated with the device, if the device is a host NIC. */
  readonly hostInterface?: string | undefined
  /**
   * The host interface is a shared link (the allocation has a shareID, KEP-5075): other claims
   * hold children of it, so it may only be a parent (`master`), never moved by host-device.
   */
  readonly sharedLink?: boolean | undefined
  /** Where addresses must lie. */
  readonly bounds: AddressBounds
}

type Obj = Readonly<Record<string, unknown>>

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function typeDetail(type: unknown, bad: string): string {
  return type === undefined ? '"type" is missing' : `${JSON.stringify(type)} ${bad}`
}

function list(v: readonly string[]): string {
  return v.length === 0 ? 'none' : v.join(', ')
}

/** Every problem of a raw network (claim-written) under the policy. */
export function rawNetworkProblems(
  network: NetworkConfList,
  policy: Policy,
  ctx: RawNetworkContext,
): PolicyProblem[] {
  const out: PolicyProblem[] = []
  const name: unknown = network.name
  if (typeof name !== 'string' || !TENANT_NETWORK_NAME_RE.test(name)) {
    out.push(
      problem(
        'network-name',
        `${ctx.path}.name`,
        `${typeof name === 'string' ? showKey(name) : JSON.stringify(name)} is not a valid network name`,
      ),
    )
  }
  let usesHostIf = false
  for (const [i, plugin] of network.plugins.entries()) {
    const r = pluginProblems(plugin, `${ctx.path}.plugins[${i}]`, policy, ctx)
    out.push(...r.problems)
    usesHostIf ||= r.usesHostIf
  }
  if (ctx.hostInterface !== undefined && !usesHostIf) {
    out.push(
      problem(
        'parent-link',
        `${ctx.path}.plugins`,
        `host interface "${ctx.hostInterface}" was allocated but no plugin uses it; use host-device, macvlan, ipvlan or vlan without naming a link`,
      ),
    )
  }
  return out
}

function pluginProblems(
  p: Obj,
  at: string,
  policy: Policy,
  ctx: RawNetworkContext,
): { problems: PolicyProblem[]; usesHostIf: boolean } {
  const out: PolicyProblem[] = []
  const type = p['type']
  let usesHostIf = false
  const allowed = policy.allowedPluginTypes
  const bad = typeProblem(type)
  if (bad !== undefined) {
    out.push(problem('plugin-type', `${at}.type`, typeDetail(type, bad)))
  } else if (HOST_CHANGING_TYPES.includes(type as string)) {
    out.push(
      problem('host-flag', `${at}.type`, `plugin "${String(type)}" changes the node's firewall`),
    )
  } else if (type === HOST_DEVICE_TYPE) {
    if (ctx.hostInterface !== undefined && ctx.sharedLink === true) {
      out.push(
        problem(
          'parent-link',
          `${at}.type`,
          `host-device would move the shared host link "${ctx.hostInterface}" away from the other claims using it; use macvlan, ipvlan or vlan (a child of the link)`,
        ),
      )
    } else if (ctx.hostInterface === undefined) {
      out.push(
        problem(
          'plugin-type',
          `${at}.type`,
          'host-device moves a host NIC into the pod; only a request of the host-interface DeviceClass may use it, for the NIC allocated to it',
        ),
      )
    }
  } else if (!allowed.includes(type as string)) {
    out.push(
      problem(
        'plugin-type',
        `${at}.type`,
        `plugin type "${String(type)}" is not allowed (policy.allowedPluginTypes: ${list(allowed)})`,
      ),
    )
  }

  for (const flag of HOST_FLAGS) {
    if (flag in p && p[flag] !== false) {
      out.push(problem('host-flag', keyPath(at, flag), `${flag} changes the node itself`))
    }
  }
  if ('args' in p) {
    out.push(
      problem(
        'cni-args',
        `${at}.args`,
        'the plugin-config "args" key passes addresses, MACs and sysctls to plugins around the policy; use the CNIConfig fields ips and mac',
      ),
    )
  }

  // Parents.
  if (typeof type === 'string' && MASTER_PLUGIN_TYPES.includes(type)) {
    const master = p['master']
    if (ctx.hostInterface !== undefined) {
      usesHostIf = true
      if (master !== undefined && master !== ctx.hostInterface) {
        out.push(
          problem(
            'parent-link',
            `${at}.master`,
            `master ${JSON.stringify(master)} is not the allocated host interface "${ctx.hostInterface}"; remove master to use it`,
          ),
        )
      }
    } else if (typeof master !== 'string' || master === '') {
      out.push(
        problem(
          'parent-link',
          `${at}.master`,
          master === undefined
            ? `${type} needs "master": without it the plugin uses the node's default-route link (allowed: ${list(policy.allowedParentLinks)})`
            : `master ${JSON.stringify(master)} is not a link name (allowed: ${list(policy.allowedParentLinks)})`,
        ),
      )
    } else if (!policy.allowedParentLinks.includes(master)) {
      out.push(
        problem(
          'parent-link',
          `${at}.master`,
          `master "${master}" is not an allowed parent link (policy.allowedParentLinks: ${list(policy.allowedParentLinks)})`,
        ),
      )
    }
  }
  if (type === 'bridge') {
    const br = p['bridge']
    if (typeof br !== 'string' || !policy.allowedBridges.includes(br)) {
      out.push(
        problem(
          'parent-link',
          `${at}.bridge`,
          br === undefined
            ? `bridge needs "bridge": without it the plugin uses the host bridge "cni0" (allowed: ${list(policy.allowedBridges)})`
            : `bridge ${JSON.stringify(br)} is not an allowed bridge (policy.allowedBridges: ${list(policy.allowedBridges)})`,
        ),
      )
    }
  }
  if (type === HOST_DEVICE_TYPE && ctx.hostInterface !== undefined) {
    usesHostIf = true
    for (const k of DEVICE_SELECTORS) {
      if (!(k in p)) continue
      if (k === 'device' && p[k] === ctx.hostInterface) continue
      out.push(
        problem(
          'parent-link',
          keyPath(at, k),
          `host-device may move only the allocated host interface "${ctx.hostInterface}"; remove ${k}`,
        ),
      )
    }
  } else if (type !== HOST_DEVICE_TYPE) {
    for (const k of DEVICE_SELECTORS) {
      if (k in p) {
        out.push(
          problem(
            'parent-link',
            keyPath(at, k),
            `${k} names a host NIC; only host-device on a host-interface claim may, and only the allocated one`,
          ),
        )
      }
    }
  }

  // IPAM.
  if ('ipam' in p) out.push(...ipamProblems(p['ipam'], `${at}.ipam`, policy, ctx))

  // tuning sysctls.
  if (type === 'tuning' && 'sysctl' in p) {
    const sysctl = p['sysctl']
    if (!isObject(sysctl)) {
      out.push(problem('sysctl', `${at}.sysctl`, 'sysctl must be an object of name: value'))
    } else {
      for (const k of Object.keys(sysctl)) {
        if (!policy.allowedSysctls.includes(k)) {
          out.push(
            problem(
              'sysctl',
              keyPath(`${at}.sysctl`, k),
              `sysctl "${k}" is not allowed (policy.allowedSysctls: ${list(policy.allowedSysctls)})`,
            ),
          )
        }
      }
    }
  }

  // Addresses a plugin itself reads.
  if ('ips' in p) out.push(...addressList(p['ips'], `${at}.ips`, 'either', ctx.bounds))
  return { problems: out, usesHostIf }
}

function ipamProblems(
  ipam: unknown,
  at: string,
  policy: Policy,
  ctx: RawNetworkContext,
): PolicyProblem[] {
  const out: PolicyProblem[] = []
  if (!isObject(ipam)) {
    return [problem('plugin-type', at, 'ipam must be an object with a "type"')]
  }
  const type = ipam['type']
  const bad = typeProblem(type)
  if (bad !== undefined) {
    out.push(problem('plugin-type', `${at}.type`, typeDetail(type, bad)))
  } else if (NON_IPAM_TYPES.includes(type as string)) {
    out.push(
      problem(
        'plugin-type',
        `${at}.type`,
        `"${String(type)}" is not an IPAM plugin (as IPAM it would act on the whole plugin config)`,
      ),
    )
  } else if (!policy.allowedPluginTypes.includes(type as string)) {
    out.push(
      problem(
        'plugin-type',
        `${at}.type`,
        `IPAM type "${String(type)}" is not allowed (policy.allowedPluginTypes: ${list(policy.allowedPluginTypes)})`,
      ),
    )
  }
  for (const k of DEVICE_SELECTORS) {
    if (k in ipam) {
      out.push(problem('parent-link', keyPath(at, k), `${k} in IPAM names a host NIC; remove it`))
    }
  }
  if ('args' in ipam) {
    out.push(
      problem(
        'cni-args',
        `${at}.args`,
        'the "args" key passes arguments around the policy; remove it',
      ),
    )
  }
  const b = ctx.bounds
  // host-local: ranges (and the legacy single-range fields).
  if ('ranges' in ipam) {
    const ranges = ipam['ranges']
    if (!Array.isArray(ranges)) {
      out.push(problem('address-range', `${at}.ranges`, 'ranges must be a list of range sets'))
    } else {
      ranges.forEach((set: unknown, i) => {
        const sAt = `${at}.ranges[${i}]`
        if (!Array.isArray(set)) {
          out.push(problem('address-range', sAt, 'a range set must be a list of ranges'))
          return
        }
        set.forEach((range: unknown, j) => out.push(...rangeProblems(range, `${sAt}[${j}]`, b)))
      })
    }
  }
  out.push(...rangeFields(ipam, at, b))
  // static: addresses.
  if ('addresses' in ipam) {
    const addrs = ipam['addresses']
    if (!Array.isArray(addrs)) {
      out.push(problem('address-range', `${at}.addresses`, 'addresses must be a list'))
    } else {
      addrs.forEach((a: unknown, i) => {
        const aAt = `${at}.addresses[${i}]`
        if (!isObject(a)) {
          out.push(problem('address-range', aAt, 'an address entry must be an object'))
          return
        }
        out.push(...addressAt(a['address'], `${aAt}.address`, 'cidr', b))
        if ('gateway' in a) out.push(...addressAt(a['gateway'], `${aAt}.gateway`, 'ip', b))
      })
    }
  }
  if ('routes' in ipam) {
    const routes = ipam['routes']
    if (!Array.isArray(routes)) {
      out.push(problem('address-range', `${at}.routes`, 'routes must be a list'))
    } else {
      routes.forEach((r: unknown, i) => {
        if (isObject(r) && 'gw' in r) {
          out.push(...addressAt(r['gw'], `${at}.routes[${i}].gw`, 'ip', b))
        }
      })
    }
  }
  if ('ips' in ipam) out.push(...addressList(ipam['ips'], `${at}.ips`, 'either', b))
  return out
}

function rangeProblems(range: unknown, at: string, b: AddressBounds): PolicyProblem[] {
  if (!isObject(range)) return [problem('address-range', at, 'a range must be an object')]
  const out: PolicyProblem[] = []
  if (!('subnet' in range)) out.push(problem('address-range', at, 'a range needs a "subnet"'))
  out.push(...rangeFields(range, at, b))
  return out
}

/** subnet / rangeStart / rangeEnd / gateway of a host-local range (or its legacy IPAM form). */
function rangeFields(o: Obj, at: string, b: AddressBounds): PolicyProblem[] {
  const out: PolicyProblem[] = []
  if ('subnet' in o) out.push(...addressAt(o['subnet'], `${at}.subnet`, 'cidr', b))
  for (const k of ['rangeStart', 'rangeEnd', 'gateway'] as const) {
    if (k in o) out.push(...addressAt(o[k], `${at}.${k}`, 'ip', b))
  }
  return out
}

function addressAt(
  value: unknown,
  at: string,
  form: 'cidr' | 'ip' | 'either',
  b: AddressBounds,
): PolicyProblem[] {
  const v = judgeAddress(value, form, b)
  return v.ok ? [] : [problem(v.rule, at, v.detail)]
}

/** A list of addresses (claim `ips`, a plugin's `ips`). */
export function addressList(
  value: unknown,
  at: string,
  form: 'cidr' | 'ip' | 'either',
  b: AddressBounds,
): PolicyProblem[] {
  if (!Array.isArray(value)) return [problem('address-range', at, 'must be a list of addresses')]
  return value.flatMap((v: unknown, i) => addressAt(v, `${at}[${i}]`, form, b))
}

/** `cniVersion`/`cniVersions` of any network must be versions this driver knows (CNI spec). */
export function cniVersionProblems(network: NetworkConfList, path: string): PolicyProblem[] {
  const out: PolicyProblem[] = []
  const known = KNOWN_CNI_VERSIONS.join(', ')
  const check = (v: unknown, at: string): void => {
    if (typeof v !== 'string' || !KNOWN_CNI_VERSIONS.includes(v)) {
      out.push(
        problem(
          'cni-version',
          at,
          `${JSON.stringify(v)} is not a CNI version this driver supports (${known})`,
        ),
      )
    }
  }
  check(network.cniVersion, `${path}.cniVersion`)
  ;(network.cniVersions ?? []).forEach((v, i) => {
    check(v, `${path}.cniVersions[${i}]`)
  })
  return out
}
