/**
 * The HPACK (RFC 7541) subset the hook's HTTP/2 client needs: encode its own request headers as
 * plain literals (never indexed, no Huffman, so no encoder state), and fully decode the server's
 * response header blocks (static and dynamic table, Huffman strings, table size updates), because
 * the gRPC status and message arrive that way.
 */
import { huffmanDecode } from './hpack-huffman.js'

/** RFC 7541 Appendix A; index 1 is the first entry. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
]

/** A header block that breaks the HPACK rules; fatal for the connection (COMPRESSION_ERROR). */
export class HpackError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HpackError'
  }
}

/** One decoded header; names and values as latin1 strings (one char per byte). */
export type Header = readonly [name: string, value: string]

/** Append an HPACK integer with an N-bit prefix; `first` holds the pattern bits above the prefix. */
export function writeInteger(
  out: number[],
  value: number,
  prefixBits: number,
  first: number,
): void {
  const max = (1 << prefixBits) - 1
  if (value < max) {
    out.push(first | value)
    return
  }
  out.push(first | max)
  let v = value - max
  while (v >= 128) {
    out.push((v % 128) + 128)
    v = Math.floor(v / 128)
  }
  out.push(v)
}

/** Read an HPACK integer with an N-bit prefix at `pos`; returns [value, next position]. */
export function readInteger(buf: Uint8Array, pos: number, prefixBits: number): [number, number] {
  const max = (1 << prefixBits) - 1
  const b0 = buf[pos]
  if (b0 === undefined) throw new HpackError('truncated integer')
  let value = b0 & max
  let p = pos + 1
  if (value < max) return [value, p]
  let scale = 1
  for (;;) {
    const b = buf[p]
    if (b === undefined) throw new HpackError('truncated integer')
    p++
    value += (b & 0x7f) * scale
    if (value > 0x7fffffff) throw new HpackError('integer too large')
    if (b < 0x80) return [value, p]
    scale *= 128
  }
}

function latin1(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return s
}

function latin1Bytes(s: string): number[] {
  const out: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c > 0xff) throw new HpackError('header text must be latin1')
    out.push(c)
  }
  return out
}

function writeString(out: number[], s: string): void {
  const bytes = latin1Bytes(s)
  writeInteger(out, bytes.length, 7, 0x00) // H bit clear: raw octets
  for (const b of bytes) out.push(b)
}

/**
 * Encode headers as "literal header field never indexed" with literal names (RFC 7541 §6.2.3),
 * except exact static-table matches, which are sent as indexed fields. Stateless by design.
 */
export function encodeHeaders(headers: readonly Header[]): Uint8Array {
  const out: number[] = []
  for (const [name, value] of headers) {
    const exact = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value && v !== '')
    if (exact !== -1) {
      writeInteger(out, exact + 1, 7, 0x80)
      continue
    }
    out.push(0x10) // never indexed, new name
    writeString(out, name)
    writeString(out, value)
  }
  return Uint8Array.from(out)
}

/** Entry overhead in the dynamic table size (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32

/** HPACK decoder with its dynamic table; one per connection, fed every header block in order. */
export class HpackDecoder {
  readonly #dynamic: Header[] = [] // newest first
  #size = 0
  #maxSize: number
  readonly #settingsMax: number

  /** `maxTableSize` is the SETTINGS_HEADER_TABLE_SIZE we advertised (4096 by default). */
  constructor(maxTableSize = 4096) {
    this.#maxSize = maxTableSize
    this.#settingsMax = maxTableSize
  }

  #lookup(index: number): Header {
    if (index === 0) throw new HpackError('index 0')
    if (index <= STATIC_TABLE.length) {
      const e = STATIC_TABLE[index - 1]
      if (e) return e
    }
    const e = this.#dynamic[index - STATIC_TABLE.length - 1]
    if (!e) throw new HpackError(`index ${index} out of range`)
    return e
  }

  #evict(): void {
    while (this.#size > this.#maxSize) {
      const e = this.#dynamic.pop()
      if (!e) break
      this.#size -= e[0].length + e[1].length + ENTRY_OVERHEAD
    }
  }

  #insert(h: Header): void {
    this.#dynamic.unshift(h)
    this.#size += h[0].length + h[1].length + ENTRY_OVERHEAD
    this.#evict()
  }

  #readString(buf: Uint8Array, pos: number): [string, number] {
    const b0 = buf[pos]
    if (b0 === undefined) throw new HpackError('truncated string')
    const [len, p] = readInteger(buf, pos, 7)
    const end = p + len
    if (end > buf.length) throw new HpackError('truncated string')
    const raw = buf.subarray(p, end)
    return [latin1((b0 & 0x80) !== 0 ? huffmanDecode(raw) : raw), end]
  }

  /** Decode one complete header block (HEADERS + CONTINUATION payloads joined). */
  decode(block: Uint8Array): Header[] {
    const out: Header[] = []
    let pos = 0
    while (pos < block.length) {
      const b = block[pos] ?? 0
      if (b & 0x80) {
        const [index, p] = readInteger(block, pos, 7)
        out.push(this.#lookup(index))
        pos = p
      } else if ((b & 0xe0) === 0x20) {
        const [size, p] = readInteger(block, pos, 5)
        if (size > this.#settingsMax) throw new HpackError('table size update above our limit')
        this.#maxSize = size
        this.#evict()
        pos = p
      } else {
        const incremental = (b & 0xc0) === 0x40
        const prefix = incremental ? 6 : 4
        const [index, p] = readInteger(block, pos, prefix)
        let name: string
        let next = p
        if (index === 0) {
          ;[name, next] = this.#readString(block, next)
        } else {
          name = this.#lookup(index)[0]
        }
        const [value, afterValue] = this.#readString(block, next)
        next = afterValue
        const h: Header = [name, value]
        if (incremental) this.#insert(h)
        out.push(h)
        pos = next
      }
    }
    return out
  }
}
