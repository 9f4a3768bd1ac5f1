/**
 * HTTP/2 framing (RFC 9113 §4, §6) for the hook's one-request client: frame encoding and an
 * incremental reader that cuts a byte stream into frames. Only what a single unary gRPC call
 * needs; flow-control bookkeeping lives with the call.
 */

export const CLIENT_PREFACE = new TextEncoder().encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

export const FRAME_DATA = 0x0
export const FRAME_HEADERS = 0x1
export const FRAME_RST_STREAM = 0x3
export const FRAME_SETTINGS = 0x4
export const FRAME_PING = 0x6
export const FRAME_GOAWAY = 0x7
export const FRAME_WINDOW_UPDATE = 0x8
export const FRAME_CONTINUATION = 0x9

export const FLAG_END_STREAM = 0x1
export const FLAG_ACK = 0x1
export const FLAG_END_HEADERS = 0x4
export const FLAG_PADDED = 0x8
export const FLAG_PRIORITY = 0x20

export const SETTINGS_HEADER_TABLE_SIZE = 0x1
export const SETTINGS_ENABLE_PUSH = 0x2
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4
export const SETTINGS_MAX_FRAME_SIZE = 0x5

/** RST_STREAM / GOAWAY error code meaning "not processed, safe to retry". */
export const H2_REFUSED_STREAM = 0x7

/** Frame size every peer must accept (SETTINGS_MAX_FRAME_SIZE default). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384
/** Flow-control window every stream and connection starts with. */
export const DEFAULT_WINDOW = 65_535

/** One frame as read from the wire. */
export interface Frame {
  readonly type: number
  readonly flags: number
  readonly streamId: number
  readonly payload: Uint8Array
}

/** Encode one frame: 9-byte header (24-bit length, type, flags, 31-bit stream id) + payload. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(9 + payload.length)
  const len = payload.length
  out[0] = (len >>> 16) & 0xff
  out[1] = (len >>> 8) & 0xff
  out[2] = len & 0xff
  out[3] = type
  out[4] = flags
  new DataView(out.buffer).setUint32(5, streamId & 0x7fffffff)
  out.set(payload, 9)
  return out
}

/** SETTINGS payload from (id, value) pairs. */
export function settingsPayload(pairs: readonly (readonly [number, number])[]): Uint8Array {
  const out = new Uint8Array(pairs.length * 6)
  const dv = new DataView(out.buffer)
  pairs.forEach(([id, value], i) => {
    dv.setUint16(i * 6, id)
    dv.setUint32(i * 6 + 2, value)
  })
  return out
}

/** A 4-byte big-endian unsigned value (WINDOW_UPDATE increments, error codes). */
export function uint32Payload(value: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value)
  return out
}

/** Frame larger than we accept: a protocol error. */
export class FrameSizeError extends Error {
  constructor(size: number) {
    super(`HTTP/2 frame of ${size} bytes is larger than allowed`)
    this.name = 'FrameSizeError'
  }
}

/** Accumulates bytes and yields whole frames. */
export class FrameReader {
  #buf: Uint8Array = new Uint8Array(0)
  readonly #maxFrameSize: number

  /** `maxFrameSize` is the SETTINGS_MAX_FRAME_SIZE we advertised. */
  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.#maxFrameSize = maxFrameSize
  }

  /** Add bytes; returns every frame that is now complete, in order. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#buf.length === 0) {
      this.#buf = chunk
    } else {
      const joined = new Uint8Array(this.#buf.length + chunk.length)
      joined.set(this.#buf)
      joined.set(chunk, this.#buf.length)
      this.#buf = joined
    }
    const frames: Frame[] = []
    let pos = 0
    const buf = this.#buf
    while (buf.length - pos >= 9) {
      const len = ((buf[pos] ?? 0) << 16) | ((buf[pos + 1] ?? 0) << 8) | (buf[pos + 2] ?? 0)
      if (len > this.#maxFrameSize) throw new FrameSizeError(len)
      if (buf.length - pos < 9 + len) break
      const dv = new DataView(buf.buffer, buf.byteOffset + pos)
      frames.push({
        type: buf[pos + 3] ?? 0,
        flags: buf[pos + 4] ?? 0,
        streamId: dv.getUint32(5) & 0x7fffffff,
        payload: buf.slice(pos + 9, pos + 9 + len),
      })
      pos += 9 + len
    }
    this.#buf = buf.slice(pos)
    return frames
  }
}
