/**
 * Hand-written protobuf codec for the two hook messages (proto/hook/v1/hook.proto). The hook must
 * start fast, so it does not load protobufjs or grpc-js; this file is the whole wire format it
 * needs: varints and length-delimited fields, unknown fields skipped on decode (forward
 * compatibility with newer plugins). Checked against protobufjs in test/unit/hook/proto-codec.ts.
 */

/** AttachRequest as the hook sends it; `ociState` is the raw stdin bytes. */
export interface WireAttachRequest {
  readonly claimUid: string
  readonly request: string
  readonly device: string
  readonly ociState: Uint8Array
}

/** AttachReply as decoded from the plugin; absent proto3 fields read as their defaults. */
export interface WireAttachReply {
  readonly ok: boolean
  readonly message: string
  readonly interfaceName: string
  readonly ips: readonly string[]
  readonly mac: string
}

const WIRE_VARINT = 0
const WIRE_I64 = 1
const WIRE_LEN = 2
const WIRE_I32 = 5

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/** Thrown for bytes that are not a valid message; the hook reports it as a protocol error. */
export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtoDecodeError'
  }
}

/** Append the base-128 varint of a non-negative integer (< 2^53) to `out`. */
export function writeVarint(out: number[], value: number): void {
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
}

/** Read a varint at `pos`; returns the value and the next position. Values above 2^53 are refused. */
export function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0
  let scale = 1
  let p = pos
  for (let i = 0; i < 10; i++) {
    const b = buf[p]
    if (b === undefined) throw new ProtoDecodeError('truncated varint')
    p++
    value += (b & 0x7f) * scale
    if (b < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER) throw new ProtoDecodeError('varint too large')
      return [value, p]
    }
    scale *= 0x80
  }
  throw new ProtoDecodeError('varint longer than 10 bytes')
}

function writeBytesField(out: number[], field: number, bytes: Uint8Array): void {
  if (bytes.length === 0) return // proto3: default values are not written
  writeVarint(out, (field << 3) | WIRE_LEN)
  writeVarint(out, bytes.length)
  for (const b of bytes) out.push(b)
}

/** Encode an AttachRequest (fields 1–4) in field order, as protobufjs would. */
export function encodeAttachRequest(req: WireAttachRequest): Uint8Array {
  const out: number[] = []
  writeBytesField(out, 1, utf8.encode(req.claimUid))
  writeBytesField(out, 2, utf8.encode(req.request))
  writeBytesField(out, 3, utf8.encode(req.device))
  writeBytesField(out, 4, req.ociState)
  return Uint8Array.from(out)
}

/** Skip one field value of `wireType` starting at `pos`; returns the next position. */
function skipField(buf: Uint8Array, pos: number, wireType: number): number {
  switch (wireType) {
    case WIRE_VARINT:
      return readVarint(buf, pos)[1]
    case WIRE_I64:
      return checkedEnd(buf, pos, 8)
    case WIRE_LEN: {
      const [len, p] = readVarint(buf, pos)
      return checkedEnd(buf, p, len)
    }
    case WIRE_I32:
      return checkedEnd(buf, pos, 4)
    default:
      throw new ProtoDecodeError(`unsupported wire type ${wireType}`)
  }
}

function checkedEnd(buf: Uint8Array, pos: number, len: number): number {
  const end = pos + len
  if (end > buf.length) throw new ProtoDecodeError('truncated field')
  return end
}

function readString(buf: Uint8Array, pos: number): [string, number] {
  const [len, p] = readVarint(buf, pos)
  const end = checkedEnd(buf, p, len)
  try {
    return [utf8Decoder.decode(buf.subarray(p, end)), end]
  } catch {
    throw new ProtoDecodeError('string field is not valid UTF-8')
  }
}

/** Decode an AttachReply; unknown fields are skipped, a wrong wire type for a known field is an error. */
export function decodeAttachReply(buf: Uint8Array): WireAttachReply {
  let ok = false
  let message = ''
  let interfaceName = ''
  const ips: string[] = []
  let mac = ''
  let pos = 0
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos)
    const field = Math.floor(tag / 8)
    const wireType = tag & 7
    if (field === 0) throw new ProtoDecodeError('field number 0')
    pos = p
    if (field === 1 && wireType === WIRE_VARINT) {
      const [v, next] = readVarint(buf, pos)
      ok = v !== 0
      pos = next
    } else if (field >= 2 && field <= 5 && wireType === WIRE_LEN) {
      const [s, next] = readString(buf, pos)
      if (field === 2) message = s
      else if (field === 3) interfaceName = s
      else if (field === 4) ips.push(s)
      else mac = s
      pos = next
    } else if (field <= 5) {
      throw new ProtoDecodeError(`field ${field} has wrong wire type ${wireType}`)
    } else {
      pos = skipField(buf, pos, wireType)
    }
  }
  return { ok, message, interfaceName, ips, mac }
}
