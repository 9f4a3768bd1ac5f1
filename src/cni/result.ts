/**
 * CNI results: parse a plugin's stdout (with libcni's `cniVersion` fix-up), normalise it to the
 * fields its spec version defines, convert between 0.1.0/0.2.0, 0.3.x/0.4.0 and 1.0.0/1.1.0 as
 * libcni's `GetAsVersion` does, and extract the sandbox interface data for the claim status.
 */
import { isIP } from 'node:net'
import { DriverError } from '../errors.js'

/** A result object as a plugin returned it, always with `cniVersion`. */
export type CniResult = Readonly<Record<string, unknown>>

/** The sandbox interface of an attachment, as the claim status `networkData` wants it. */
export interface NetworkData {
  readonly interfaceName: string
  /** Addresses in CIDR form. */
  readonly ips: string[]
  readonly hardwareAddress?: string
}

interface Iface {
  name: string
  mac?: string
  mtu?: number
  sandbox?: string
  socketPath?: string
  pciID?: string
}
interface IpConf {
  version?: string
  interface?: number
  address: string
  gateway?: string
}
interface Route {
  dst: string
  gw?: string
  mtu?: number
  advmss?: number
  priority?: number
  table?: number
  scope?: number
}
interface Dns {
  nameservers?: string[]
  domain?: string
  search?: string[]
  options?: string[]
}
/** Version-independent model (a superset of every version's fields). */
interface Model {
  interfaces: Iface[]
  ips: IpConf[]
  routes: Route[]
  dns: Dns
}

type Family = '020' | '040' | '100'

function familyOf(version: string): Family {
  switch (version) {
    case '0.1.0':
    case '0.2.0':
      return '020'
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return '040'
    case '1.0.0':
    case '1.1.0':
      return '100'
    default:
      throw new DriverError('NDRA_CNI_RESULT', `unsupported CNI result version "${version}"`)
  }
}

function resultError(msg: string, cause?: unknown): DriverError {
  return new DriverError('NDRA_CNI_RESULT', `invalid CNI result: ${msg}`, { cause })
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Parse plugin stdout. A missing or empty `cniVersion` becomes `configVersion` (the version sent on
 * stdin); `null` counts as `{}`. Why: plugins built on old skel omit the version, and libcni decodes
 * such output as the config's version.
 */
export function parseResult(stdout: Uint8Array | string, configVersion: string): CniResult {
  const text = typeof stdout === 'string' ? stdout : Buffer.from(stdout).toString('utf8')
  let decoded: unknown
  try {
    decoded = JSON.parse(text)
  } catch (err: unknown) {
    throw resultError(`cannot decode plugin output ${JSON.stringify(text.slice(0, 200))}`, err)
  }
  if (decoded === null) decoded = {}
  if (!isRecord(decoded)) throw resultError('plugin output is not a JSON object')
  const v = decoded['cniVersion']
  const obj =
    typeof v === 'string' && v !== '' ? decoded : { ...decoded, cniVersion: configVersion }
  return normalizeResult(obj)
}

/**
 * Re-encode a result with exactly the fields its version defines (unknown keys dropped, empty
 * lists and DNS omitted), like a Go decode + encode. Why: prevResult and the cache must carry a
 * well-formed result even if a plugin printed extras.
 */
export function normalizeResult(result: Readonly<Record<string, unknown>>): CniResult {
  const version = result['cniVersion']
  if (typeof version !== 'string' || version === '') throw resultError('missing cniVersion')
  return encodeModel(decodeModel(result, familyOf(version)), version)
}

/**
 * Convert a result to another spec version (libcni `GetAsVersion`). Why: DEL and CHECK must get the
 * cached result in the list's version, which may differ if the config changed since ADD.
 */
export function convertResult(result: CniResult, toVersion: string): CniResult {
  const from = result['cniVersion']
  if (typeof from !== 'string' || from === '') throw resultError('missing cniVersion')
  const model = decodeModel(result, familyOf(from))
  familyOf(toVersion)
  return encodeModel(model, toVersion)
}

/**
 * The sandbox interface named `ifName` with its addresses and MAC. IPs are those whose `interface`
 * index points at it; when no IP names an interface (IPAM-only results), all IPs count.
 */
export function networkDataFromResult(result: CniResult, ifName: string): NetworkData {
  const m = decodeModel(result, familyOf(String(result['cniVersion'])))
  let idx = m.interfaces.findIndex(i => i.name === ifName && (i.sandbox ?? '') !== '')
  if (idx < 0) idx = m.interfaces.findIndex(i => i.name === ifName)
  const anyIndexed = m.ips.some(ip => ip.interface !== undefined)
  const ips = m.ips
    .filter(ip => (anyIndexed ? idx >= 0 && ip.interface === idx : true))
    .map(ip => ip.address)
  const mac = idx >= 0 ? m.interfaces[idx]?.mac : undefined
  return mac ? { interfaceName: ifName, ips, hardwareAddress: mac } : { interfaceName: ifName, ips }
}

// ---- decoding ----

function str(o: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw resultError(`${where}.${key} must be a string`)
  return v
}

function int(o: Record<string, unknown>, key: string, where: string): number | undefined {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw resultError(`${where}.${key} must be an integer`)
  return v
}

function strList(o: Record<string, unknown>, key: string, where: string): string[] | undefined {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some(x => typeof x !== 'string')) {
    throw resultError(`${where}.${key} must be a list of strings`)
  }
  return v as string[]
}

function list(o: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const v = o[key]
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw resultError(`${key} must be a list`)
  return v.map((e: unknown, i) => {
    if (!isRecord(e)) throw resultError(`${key}[${i}] must be an object`)
    return e
  })
}

function setIf<T extends object, K extends keyof T>(target: T, key: K, v: T[K] | undefined): void {
  if (v !== undefined) target[key] = v
}

function checkCidr(address: string, where: string): string {
  const slash = address.lastIndexOf('/')
  const ip = slash > 0 ? address.slice(0, slash) : ''
  const prefix = slash > 0 ? address.slice(slash + 1) : ''
  const fam = isIP(ip)
  const max = fam === 4 ? 32 : 128
  if (fam === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    throw resultError(`${where} ${JSON.stringify(address)} is not a CIDR address`)
  }
  return address
}

function decodeRoute(r: Record<string, unknown>, where: string): Route {
  const dst = str(r, 'dst', where)
  if (dst === undefined) throw resultError(`${where}.dst is required`)
  const route: Route = { dst: checkCidr(dst, `${where}.dst`) }
  setIf(route, 'gw', str(r, 'gw', where))
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const)
    setIf(route, k, int(r, k, where))
  return route
}

function decodeDns(o: Record<string, unknown>): Dns {
  const d = o['dns']
  if (d === undefined || d === null) return {}
  if (!isRecord(d)) throw resultError('dns must be an object')
  const dns: Dns = {}
  setIf(dns, 'nameservers', strList(d, 'nameservers', 'dns'))
  setIf(dns, 'domain', str(d, 'domain', 'dns'))
  setIf(dns, 'search', strList(d, 'search', 'dns'))
  setIf(dns, 'options', strList(d, 'options', 'dns'))
  return dns
}

function decodeModel(o: Readonly<Record<string, unknown>>, fam: Family): Model {
  if (fam === '020') return decode020(o)
  const interfaces = list(o, 'interfaces').map((e, i) => {
    const where = `interfaces[${i}]`
    const name = str(e, 'name', where) ?? ''
    const iface: Iface = { name }
    setIf(iface, 'mac', str(e, 'mac', where))
    setIf(iface, 'sandbox', str(e, 'sandbox', where))
    if (fam === '100') {
      setIf(iface, 'mtu', int(e, 'mtu', where))
      setIf(iface, 'socketPath', str(e, 'socketPath', where))
      setIf(iface, 'pciID', str(e, 'pciID', where))
    }
    return iface
  })
  const ips = list(o, 'ips').map((e, i) => {
    const where = `ips[${i}]`
    const address = str(e, 'address', where)
    if (address === undefined) throw resultError(`${where}.address is required`)
    const ip: IpConf = { address: checkCidr(address, `${where}.address`) }
    if (fam === '040') setIf(ip, 'version', str(e, 'version', where))
    setIf(ip, 'interface', int(e, 'interface', where))
    setIf(ip, 'gateway', str(e, 'gateway', where))
    return ip
  })
  const routes = list(o, 'routes').map((r, i) => {
    const route = decodeRoute(r, `routes[${i}]`)
    return fam === '100' ? route : withoutNewRouteFields(route)
  })
  return { interfaces, ips, routes, dns: decodeDns(o) }
}

function withoutNewRouteFields(r: Route): Route {
  return r.gw === undefined ? { dst: r.dst } : { dst: r.dst, gw: r.gw }
}

function decode020(o: Readonly<Record<string, unknown>>): Model {
  const ips: IpConf[] = []
  const routes: Route[] = []
  for (const [key, version] of [
    ['ip4', '4'],
    ['ip6', '6'],
  ] as const) {
    const v = o[key]
    if (v === undefined || v === null) continue
    if (!isRecord(v)) throw resultError(`${key} must be an object`)
    const address = str(v, 'ip', key)
    if (address === undefined) throw resultError(`${key}.ip is required`)
    const ip: IpConf = { version, address: checkCidr(address, `${key}.ip`) }
    setIf(ip, 'gateway', str(v, 'gateway', key))
    ips.push(ip)
    list(v, 'routes').forEach((r, i) =>
      routes.push(withoutNewRouteFields(decodeRoute(r, `${key}.routes[${i}]`))),
    )
  }
  return { interfaces: [], ips, routes, dns: decodeDns(o) }
}

// ---- encoding ----

function ipVersion(ip: IpConf): string {
  return isIP(ip.address.slice(0, ip.address.lastIndexOf('/'))) === 4 ? '4' : '6'
}

function dnsEmpty(d: Dns): boolean {
  return !d.nameservers?.length && !d.domain && !d.search?.length && !d.options?.length
}

function encodeDns(d: Dns): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (d.nameservers?.length) out['nameservers'] = d.nameservers
  if (d.domain) out['domain'] = d.domain
  if (d.search?.length) out['search'] = d.search
  if (d.options?.length) out['options'] = d.options
  return out
}

function encodeModel(m: Model, version: string): CniResult {
  const fam = familyOf(version)
  const out: Record<string, unknown> = { cniVersion: version }
  if (fam === '020') {
    encode020(m, out)
  } else {
    if (m.interfaces.length > 0) {
      out['interfaces'] = m.interfaces.map(i => (fam === '100' ? { ...i } : pick040Iface(i)))
    }
    if (m.ips.length > 0) {
      out['ips'] = m.ips.map(ip => {
        const o: Record<string, unknown> = {}
        if (fam === '040') o['version'] = ip.version ?? ipVersion(ip)
        if (ip.interface !== undefined) o['interface'] = ip.interface
        o['address'] = ip.address
        if (ip.gateway !== undefined) o['gateway'] = ip.gateway
        return o
      })
    }
    if (m.routes.length > 0) {
      out['routes'] = m.routes.map(r => (fam === '100' ? { ...r } : withoutNewRouteFields(r)))
    }
  }
  if (!dnsEmpty(m.dns)) out['dns'] = encodeDns(m.dns)
  return Object.freeze(out)
}

function pick040Iface(i: Iface): Record<string, unknown> {
  const o: Record<string, unknown> = { name: i.name }
  if (i.mac !== undefined) o['mac'] = i.mac
  if (i.sandbox !== undefined) o['sandbox'] = i.sandbox
  return o
}

function encode020(m: Model, out: Record<string, unknown>): void {
  const ip4 = m.ips.find(ip => (ip.version ?? ipVersion(ip)) === '4')
  const ip6 = m.ips.find(ip => (ip.version ?? ipVersion(ip)) === '6')
  for (const [key, ip, fam] of [
    ['ip4', ip4, 4],
    ['ip6', ip6, 6],
  ] as const) {
    if (!ip) continue
    const o: Record<string, unknown> = { ip: ip.address }
    if (ip.gateway !== undefined) o['gateway'] = ip.gateway
    const routes = m.routes
      .filter(r => isIP(r.dst.slice(0, r.dst.lastIndexOf('/'))) === fam)
      .map(withoutNewRouteFields)
    if (routes.length > 0) o['routes'] = routes
    out[key] = o
  }
}
