/**
 * IP addresses and CIDRs as the CNI plugins (Go's `net.ParseIP`/`net.ParseCIDR`) read them, and the
 * two address rules of the tenant policy: an address must lie inside an allowed CIDR, and never in
 * a reserved range (link-local, loopback, multicast, unspecified, limited broadcast, the cluster's
 * own CIDRs). An IPv4-mapped IPv6 address (`::ffff:169.254.169.254`) is judged as the IPv4 address
 * it is to Go (`IP.To4()`), so the mapping cannot smuggle a reserved address past the check.
 */

/** A parsed network: `[base, base + 2^(bits - prefix))` of one family. */
export interface IpNet {
  readonly family: 4 | 6
  readonly base: bigint
  readonly prefix: number
  /** The input text, for messages. */
  readonly text: string
}

const V4_PART = /^(0|[1-9][0-9]{0,2})$/
const V6_GROUP = /^[0-9a-fA-F]{1,4}$/

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  let v = 0n
  for (const p of parts) {
    if (!V4_PART.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    v = (v << 8n) | BigInt(n)
  }
  return v
}

function parseV6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const groups = (h: string, v4Tail: boolean): bigint[] | undefined => {
    if (h === '') return []
    const out: bigint[] = []
    const parts = h.split(':')
    for (const [i, p] of parts.entries()) {
      if (v4Tail && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p)
        if (v4 === undefined) return undefined
        out.push(v4 >> 16n, v4 & 0xffffn)
      } else if (V6_GROUP.test(p)) {
        out.push(BigInt(parseInt(p, 16)))
      } else {
        return undefined
      }
    }
    return out
  }
  // A dotted IPv4 tail is only valid as the last 32 bits of the whole address.
  const head = groups(halves[0] ?? '', halves.length === 1)
  const tail = halves.length === 2 ? groups(halves[1] ?? '', true) : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...new Array<bigint>(missing).fill(0n), ...tail]
  return all.reduce((acc, g) => (acc << 16n) | g, 0n)
}

/** Normalise an IPv4-mapped IPv6 network (prefix ≥ 96) to the IPv4 network Go treats it as. */
function unmap(net: IpNet): IpNet {
  if (net.family === 6 && net.prefix >= 96 && net.base >> 32n === 0xffffn) {
    return { family: 4, base: net.base & 0xffffffffn, prefix: net.prefix - 96, text: net.text }
  }
  return net
}

/** Parse a bare IP address (`10.1.0.5`, `fd00::5`) as a single-address network. */
export function parseIp(text: string): IpNet | undefined {
  const v4 = parseV4(text)
  if (v4 !== undefined) return { family: 4, base: v4, prefix: 32, text }
  const v6 = parseV6(text)
  if (v6 === undefined) return undefined
  return unmap({ family: 6, base: v6, prefix: 128, text })
}

/**
 * Parse `addr/prefix` to its network (`10.1.0.5/24` → 10.1.0.0/24): the whole prefix is what the
 * address brings on-link, so the whole network is what the rules judge.
 */
export function parseNet(text: string): IpNet | undefined {
  const slash = text.indexOf('/')
  if (slash < 0) return undefined
  const ip = text.slice(0, slash)
  const prefixText = text.slice(slash + 1)
  if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  const v4 = parseV4(ip)
  if (v4 !== undefined) {
    if (prefix > 32) return undefined
    return { family: 4, base: maskBase(v4, 32, prefix), prefix, text }
  }
  const v6 = parseV6(ip)
  if (v6 === undefined || prefix > 128) return undefined
  return unmap({ family: 6, base: maskBase(v6, 128, prefix), prefix, text })
}

/** Parse either form: `a/p` as a network, a bare address as a single address. */
export function parseIpOrNet(text: string): IpNet | undefined {
  return text.includes('/') ? parseNet(text) : parseIp(text)
}

function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128
}

function maskBase(v: bigint, bits: number, prefix: number): bigint {
  const host = BigInt(bits - prefix)
  return (v >> host) << host
}

function lastOf(n: IpNet): bigint {
  return n.base + (1n << BigInt(bitsOf(n.family) - n.prefix)) - 1n
}

/** Whether `inner` lies entirely inside `outer`. */
export function netContains(outer: IpNet, inner: IpNet): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    maskBase(inner.base, bitsOf(outer.family), outer.prefix) === outer.base
  )
}

/** Whether two networks share any address. */
export function netsOverlap(a: IpNet, b: IpNet): boolean {
  return a.family === b.family && a.base <= lastOf(b) && b.base <= lastOf(a)
}

interface ReservedRange {
  readonly net: IpNet
  readonly why: string
}

function reserved(text: string, why: string): ReservedRange {
  const net = parseNet(text)
  if (net === undefined) throw new Error(`bad built-in CIDR ${text}`)
  return { net, why }
}

/** Ranges no tenant address may touch, whatever the admin allows. */
export const ALWAYS_RESERVED: readonly ReservedRange[] = Object.freeze([
  reserved('0.0.0.0/8', 'unspecified ("this network")'),
  reserved('127.0.0.0/8', 'loopback'),
  reserved('169.254.0.0/16', 'link-local (includes the metadata service 169.254.169.254)'),
  reserved('224.0.0.0/4', 'multicast'),
  reserved('255.255.255.255/32', 'the limited broadcast address'),
  reserved('::/128', 'unspecified'),
  reserved('::1/128', 'loopback'),
  reserved('fe80::/10', 'link-local'),
  reserved('ff00::/8', 'multicast'),
])

/** The verdict on one address-bearing value. */
export type AddressVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false
      readonly rule: 'reserved-address' | 'address-range'
      readonly detail: string
    }

/** What an address is judged against. */
export interface AddressBounds {
  /** Networks the address must lie inside. */
  readonly allowed: readonly IpNet[]
  /** Where `allowed` comes from, for messages (e.g. `policy.allowedCIDRs`). */
  readonly allowedName: string
  /** The cluster's own CIDRs (never allowed). */
  readonly cluster: readonly IpNet[]
}

/**
 * Judge one address-bearing value: `form` says whether it is a CIDR, a bare address, or either.
 * Reserved ranges win over allowed ones (an admin who allows 0.0.0.0/0 still gets no link-local).
 */
export function judgeAddress(
  value: unknown,
  form: 'cidr' | 'ip' | 'either',
  bounds: AddressBounds,
): AddressVerdict {
  const text = typeof value === 'string' ? value : undefined
  const net =
    text === undefined
      ? undefined
      : form === 'cidr'
        ? parseNet(text)
        : form === 'ip'
          ? parseIp(text)
          : parseIpOrNet(text)
  if (net === undefined) {
    const shape = form === 'cidr' ? 'a CIDR like 10.10.1.0/24' : 'an IP address like 10.10.1.1'
    return {
      ok: false,
      rule: 'address-range',
      detail: `${JSON.stringify(value)} is not ${shape}, so it cannot be checked`,
    }
  }
  for (const r of ALWAYS_RESERVED) {
    if (netsOverlap(r.net, net)) {
      return {
        ok: false,
        rule: 'reserved-address',
        detail: `"${net.text}" ${net.prefix === bitsOf(net.family) ? 'is' : 'covers'} ${r.why} (${r.net.text})`,
      }
    }
  }
  for (const c of bounds.cluster) {
    if (netsOverlap(c, net)) {
      return {
        ok: false,
        rule: 'reserved-address',
        detail: `"${net.text}" overlaps the cluster CIDR ${c.text}`,
      }
    }
  }
  if (!bounds.allowed.some(a => netContains(a, net))) {
    const list =
      bounds.allowed.length === 0
        ? `${bounds.allowedName} is empty`
        : `${bounds.allowedName}: ${bounds.allowed.map(a => a.text).join(', ')}`
    return {
      ok: false,
      rule: 'address-range',
      detail: `"${net.text}" is not inside an allowed CIDR (${list})`,
    }
  }
  return { ok: true }
}
