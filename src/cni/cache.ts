/**
 * The CNI result cache in libcni's format and layout, so libcni-based tools and this driver read
 * each other's entries: `<cacheDir>/results/<network>-<containerId>-<ifName>`, directory 0700,
 * files 0600, JSON `{kind:"cniCacheV1", containerId, config(base64), ifName, networkName, netns?,
 * cniArgs?, capabilityArgs?, result}` in Go's field order. A file without that kind is read as a
 * bare result (the legacy format).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DriverError } from '../errors.js'
import { goJsonMarshal, goJsonString } from './go-json.js'
import { normalizeResult, type CniResult } from './result.js'

/** Marker of the current cache format (libcni `CNICacheV1`). */
export const CACHE_KIND_V1 = 'cniCacheV1'

/** One attachment recorded in the cache (libcni `NetworkAttachment`). */
export interface CachedAttachment {
  readonly containerId: string
  readonly networkName: string
  readonly ifName: string
  /** The conflist bytes the attachment was made with. */
  readonly config: Uint8Array
  readonly netns: string
  readonly cniArgs: readonly (readonly [string, string])[]
  readonly capabilityArgs: Readonly<Record<string, unknown>>
}

/** A full cache entry: the attachment plus the final ADD result. */
export interface CacheEntry extends CachedAttachment {
  readonly result: CniResult
}

/** What a read found: a v1 entry, or only a result from a legacy bare-result file. */
export type CacheRead =
  | { readonly kind: 'v1'; readonly entry: CacheEntry; readonly result: CniResult }
  | { readonly kind: 'legacy'; readonly result: CniResult }

/**
 * Encode an entry byte-for-byte as Go's `json.Marshal(&cachedInfo)` does (struct field order,
 * omitempty fields, maps with sorted keys). Why: the golden test pins this format.
 */
export function encodeCacheEntry(e: CacheEntry): string {
  const parts = [
    `"kind":${goJsonString(CACHE_KIND_V1)}`,
    `"containerId":${goJsonString(e.containerId)}`,
    `"config":${goJsonString(Buffer.from(e.config).toString('base64'))}`,
    `"ifName":${goJsonString(e.ifName)}`,
    `"networkName":${goJsonString(e.networkName)}`,
  ]
  if (e.netns !== '') parts.push(`"netns":${goJsonString(e.netns)}`)
  if (e.cniArgs.length > 0) parts.push(`"cniArgs":${goJsonMarshal(e.cniArgs)}`)
  if (Object.keys(e.capabilityArgs).length > 0) {
    parts.push(`"capabilityArgs":${goJsonMarshal(e.capabilityArgs)}`)
  }
  if (Object.keys(e.result).length > 0) parts.push(`"result":${goJsonMarshal(e.result)}`)
  return `{${parts.join(',')}}`
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function corrupt(msg: string, cause?: unknown): DriverError {
  return new DriverError('NDRA_CNI_RESULT', `cached CNI result unreadable: ${msg}`, { cause })
}

/** Decode the attachment fields of a v1 entry; undefined when `raw` is not a usable v1 entry. */
function decodeAttachment(raw: Record<string, unknown>): CachedAttachment | undefined {
  if (raw['kind'] !== CACHE_KIND_V1) return undefined
  const s = (k: string): string => (typeof raw[k] === 'string' ? raw[k] : '')
  const argsRaw = raw['cniArgs']
  const cniArgs: [string, string][] = []
  if (Array.isArray(argsRaw)) {
    for (const p of argsRaw as unknown[]) {
      if (
        !Array.isArray(p) ||
        p.length !== 2 ||
        typeof p[0] !== 'string' ||
        typeof p[1] !== 'string'
      ) {
        return undefined
      }
      cniArgs.push([p[0], p[1]])
    }
  } else if (argsRaw !== undefined && argsRaw !== null) return undefined
  const caps = raw['capabilityArgs']
  if (caps !== undefined && caps !== null && !isRecord(caps)) return undefined
  return {
    containerId: s('containerId'),
    networkName: s('networkName'),
    ifName: s('ifName'),
    config: Buffer.from(s('config'), 'base64'),
    netns: s('netns'),
    cniArgs,
    capabilityArgs: isRecord(caps) ? caps : {},
  }
}

/**
 * Decode a cache file. Why: DEL, CHECK and GC must read entries written by libcni as well as ours;
 * throws `NDRA_CNI_RESULT` when neither a v1 entry nor a bare result can be read.
 */
export function decodeCacheFile(bytes: Uint8Array): CacheRead {
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (err: unknown) {
    throw corrupt('not JSON', err)
  }
  if (!isRecord(raw)) throw corrupt('not a JSON object')
  const att = decodeAttachment(raw)
  if (att) {
    const r = raw['result']
    if (!isRecord(r)) throw corrupt('entry has no result')
    const result = normalizeResult(r)
    return { kind: 'v1', entry: { ...att, result }, result }
  }
  if (raw['kind'] !== undefined) throw corrupt(`unknown kind ${JSON.stringify(raw['kind'])}`)
  return { kind: 'legacy', result: normalizeResult(raw) }
}

/** The on-disk cache under one cache directory. */
export class ResultCache {
  readonly #dir: string

  /** `cacheDir` is libcni's cache dir (default `/var/lib/cni`); entries live in `results/`. */
  constructor(cacheDir: string) {
    this.#dir = join(cacheDir, 'results')
  }

  /** Path of one entry; refuses empty parts and `/` (they would escape or alias the layout). */
  path(networkName: string, containerId: string, ifName: string): string {
    for (const [what, v] of [
      ['network name', networkName],
      ['container ID', containerId],
      ['interface name', ifName],
    ] as const) {
      if (v === '' || v.includes('/')) {
        throw new DriverError(
          'NDRA_INVALID_ARGUMENT',
          `cache file path needs a valid ${what}, got ${JSON.stringify(v)}`,
        )
      }
    }
    return join(this.#dir, `${networkName}-${containerId}-${ifName}`)
  }

  /** Write an entry (0600 in a 0700 dir; temp file + rename so readers never see half a file). */
  async write(entry: CacheEntry): Promise<void> {
    const target = this.path(entry.networkName, entry.containerId, entry.ifName)
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    const tmp = join(this.#dir, `.tmp-${randomBytes(6).toString('hex')}`)
    try {
      await writeFile(tmp, encodeCacheEntry(entry), { mode: 0o600 })
      await rename(tmp, target)
    } catch (err: unknown) {
      await rm(tmp, { force: true })
      throw err
    }
  }

  /** Read an entry; undefined when the file does not exist, `NDRA_CNI_RESULT` when unreadable. */
  async read(
    networkName: string,
    containerId: string,
    ifName: string,
  ): Promise<CacheRead | undefined> {
    let bytes: Buffer
    try {
      bytes = await readFile(this.path(networkName, containerId, ifName))
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    return decodeCacheFile(bytes)
  }

  /** Remove an entry; a missing file is fine. */
  async remove(networkName: string, containerId: string, ifName: string): Promise<void> {
    await rm(this.path(networkName, containerId, ifName), { force: true })
  }

  /**
   * All v1 entries (optionally of one container), sorted by file name, skipping unreadable files and
   * entries without ifName/networkName (libcni `GetCachedAttachments`). Why: GC works from this list.
   */
  async list(containerId?: string): Promise<CachedAttachment[]> {
    let names: string[]
    try {
      names = (await readdir(this.#dir)).sort()
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const out: CachedAttachment[] = []
    for (const name of names) {
      if (containerId) {
        const part = `-${containerId}-`
        const pos = name.indexOf(part)
        if (pos <= 0 || pos + part.length >= name.length) continue
      }
      let raw: unknown
      try {
        raw = JSON.parse(await readFile(join(this.#dir, name), 'utf8'))
      } catch {
        continue
      }
      const att = isRecord(raw) ? decodeAttachment(raw) : undefined
      if (!att || att.ifName === '' || att.networkName === '') continue
      if (containerId && att.containerId !== containerId) continue
      out.push(att)
    }
    return out
  }
}
