/**
 * JSON encoding the way Go's `encoding/json` writes a `map[string]interface{}`: compact, object keys
 * sorted by their UTF-8 bytes, and `<`, `>`, `&`, U+2028, U+2029 escaped. libcni re-marshals plugin
 * configs and cache entries through such maps, so matching it keeps our stdin and cache files
 * byte-compatible with what a Go runtime produces for the same input.
 */

/**
 * Encode `value` as Go's `json.Marshal` would encode the same value decoded into `interface{}`.
 * Why: the result cache and plugin stdin are shared with Go tools, and a golden comparison needs the
 * exact bytes. `undefined` object members are skipped (as `JSON.stringify` does); a top-level
 * `undefined` encodes as `null`.
 */
export function goJsonMarshal(value: unknown): string {
  return encodeValue(value)
}

function encodeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  switch (typeof value) {
    case 'string':
      return goJsonString(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`json: unsupported value: ${String(value)}`)
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'bigint':
      return value.toString()
    case 'object':
      return encodeObject(value)
    default:
      throw new TypeError(`json: unsupported type: ${typeof value}`)
  }
}

function encodeObject(value: object): string {
  if (value instanceof Uint8Array) return goJsonString(Buffer.from(value).toString('base64'))
  if (Array.isArray(value)) return `[${value.map(v => encodeValue(v)).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>).filter(
    ([, v]) => v !== undefined,
  )
  entries.sort(([a], [b]) => compareUtf8(a, b))
  return `{${entries.map(([k, v]) => `${goJsonString(k)}:${encodeValue(v)}`).join(',')}}`
}

/** Go sorts map keys by byte order of their UTF-8 encoding. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

const HEX = '0123456789abcdef'

/** Encode one string with Go's escaping rules (HTML-safe, `\u00XX` for other control bytes). */
export function goJsonString(s: string): string {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (cp < 0x20 || ch === '<' || ch === '>' || ch === '&')
      out += `\\u00${HEX[cp >> 4]}${HEX[cp & 15]}`
    else if (cp === 0x2028 || cp === 0x2029) out += `\\u${cp.toString(16)}`
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd'
    else out += ch
  }
  return `${out}"`
}
