/**
 * Network configuration lists (conflists): parse and validate like libcni's `NetworkConfFromBytes`,
 * pick the spec version (`cniVersion` / `cniVersions`), and keep the original bytes for the result
 * cache. Only inline `plugins` are supported; the sibling-folder plugin loading of libcni applies to
 * files on disk, which this driver never reads.
 */
import { DriverError } from '../errors.js'
import { CURRENT_CNI_VERSION, compareCniVersions, parseCniVersion } from './version.js'
import { validateNetworkName } from './validate.js'

/** One plugin object of a list: its binary name and the full object as written. */
export interface PluginConf {
  readonly type: string
  readonly raw: Readonly<Record<string, unknown>>
}

/** A parsed, validated conflist. `cniVersion` is the version selected by libcni's rules. */
export interface NetworkConfigList {
  readonly name: string
  readonly cniVersion: string
  readonly disableCheck: boolean
  readonly disableGC: boolean
  readonly plugins: readonly PluginConf[]
  /** The original bytes (for the cache, whose `config` holds them base64-encoded). */
  readonly bytes: Uint8Array
}

function confError(msg: string, cause?: unknown): DriverError {
  return new DriverError('NDRA_CNI_CONFIG', `error parsing configuration list: ${msg}`, { cause })
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Parse a conflist from JSON text, bytes, or an already-decoded object.
 * Why: every later CNI call relies on these checks (name regex, plugin types that cannot escape the
 * bin dirs, one selected version), so bad configs fail here with `NDRA_CNI_CONFIG` and a message
 * naming the field, never at exec time.
 */
export function parseConfList(
  input: string | Uint8Array | Readonly<Record<string, unknown>>,
): NetworkConfigList {
  const { raw, bytes } = decodeInput(input)
  const name = raw['name']
  if (name === undefined) throw confError('no name')
  if (typeof name !== 'string') throw confError(`invalid name type ${typeName(name)}`)
  const nameErr = validateNetworkName(name)
  if (nameErr) throw confError(`${nameErr.msg} ${JSON.stringify(name)}`)

  const cniVersion = selectVersion(raw)
  const disableCheck = readBool(raw, 'disableCheck')
  const disableGC = readBool(raw, 'disableGC')
  readBool(raw, 'loadOnlyInlinedPlugins')

  const plugins = raw['plugins']
  if (plugins === undefined) throw confError("no 'plugins' key (only inline plugins are supported)")
  if (!Array.isArray(plugins)) throw confError(`invalid 'plugins' type ${typeName(plugins)}`)
  if (plugins.length === 0) throw confError('no plugins in list')
  const parsed = plugins.map((p: unknown, i) => parsePlugin(p, i))
  return Object.freeze({
    name,
    cniVersion,
    disableCheck,
    disableGC,
    plugins: Object.freeze(parsed),
    bytes,
  })
}

function decodeInput(input: string | Uint8Array | Readonly<Record<string, unknown>>): {
  raw: Record<string, unknown>
  bytes: Uint8Array
} {
  let bytes: Uint8Array
  let decoded: unknown
  if (typeof input === 'string' || input instanceof Uint8Array) {
    bytes = typeof input === 'string' ? new TextEncoder().encode(input) : Uint8Array.from(input)
    try {
      decoded = JSON.parse(new TextDecoder().decode(bytes))
    } catch (err: unknown) {
      throw confError(err instanceof Error ? err.message : String(err), err)
    }
  } else {
    decoded = structuredClone(input)
    bytes = new TextEncoder().encode(JSON.stringify(input))
  }
  if (!isRecord(decoded)) throw confError(`expected a JSON object, got ${typeName(decoded)}`)
  return { raw: decoded, bytes }
}

function parsePlugin(p: unknown, i: number): PluginConf {
  if (!isRecord(p)) throw confError(`plugin ${i}: expected an object, got ${typeName(p)}`)
  const type = p['type']
  if (type === undefined || type === '') throw confError(`plugin ${i}: missing 'type'`)
  if (typeof type !== 'string')
    throw confError(`plugin ${i}: invalid 'type' type ${typeName(type)}`)
  if (type.includes('/') || type.includes('\\') || type === '.' || type === '..') {
    throw confError(`plugin ${i}: 'type' ${JSON.stringify(type)} must be a plain binary name`)
  }
  const caps = p['capabilities']
  if (caps !== undefined && !isRecord(caps)) {
    throw confError(`plugin ${i}: invalid 'capabilities' type ${typeName(caps)}`)
  }
  return Object.freeze({ type, raw: Object.freeze(p) })
}

/**
 * libcni's version pick: without `cniVersions`, `cniVersion` verbatim; with it, drop every entry
 * newer than 1.1.0, add `cniVersion` if not newer, and take the highest.
 */
function selectVersion(raw: Record<string, unknown>): string {
  const rv = raw['cniVersion']
  let cniVersion = ''
  if (rv !== undefined) {
    if (typeof rv !== 'string') throw confError(`invalid cniVersion type ${typeName(rv)}`)
    cniVersion = rv
  }
  const rvs = raw['cniVersions']
  if (rvs !== undefined) {
    if (!Array.isArray(rvs)) throw confError(`invalid type for cniVersions: ${typeName(rvs)}`)
    const vs: string[] = []
    rvs.forEach((v: unknown, i) => {
      if (typeof v !== 'string') {
        throw confError(`invalid type for cniVersions index ${i}: ${typeName(v)}`)
      }
      if (notNewerThanCurrent(v, `invalid cniVersions entry ${v} at index ${i}`)) vs.push(v)
    })
    if (cniVersion !== '' && notNewerThanCurrent(cniVersion, `invalid cniVersion ${cniVersion}`)) {
      vs.push(cniVersion)
    }
    vs.sort(compareCniVersions)
    const highest = vs[vs.length - 1]
    if (highest !== undefined) cniVersion = highest
  }
  if (cniVersion === '') throw confError('no cniVersion (or usable cniVersions entry)')
  try {
    parseCniVersion(cniVersion)
  } catch (err: unknown) {
    throw confError(`invalid cniVersion ${JSON.stringify(cniVersion)}`, err)
  }
  return cniVersion
}

function notNewerThanCurrent(v: string, what: string): boolean {
  try {
    return compareCniVersions(v, CURRENT_CNI_VERSION) <= 0
  } catch (err: unknown) {
    throw confError(what, err)
  }
}

function readBool(raw: Record<string, unknown>, key: string): boolean {
  const v = raw[key]
  if (v === undefined) return false
  if (typeof v === 'boolean') return v
  if (typeof v !== 'string') throw confError(`invalid type ${typeName(v)} for ${key}`)
  const s = v.toLowerCase()
  if (s === 'true') return true
  if (s === 'false') return false
  throw confError(`invalid value ${JSON.stringify(s)} for ${key}`)
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}
