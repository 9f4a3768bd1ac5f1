/**
 * One unary gRPC call over HTTP/2 on a Unix socket, written against the wire protocol directly
 * (RFC 9113 framing, RFC 7541 header compression, gRPC's PROTOCOL-HTTP2 message framing) instead
 * of grpc-js or node:http2: those cost the hook tens of ms and ≈ 15 MiB at start-up (measured,
 * hook/README.md). The client opens one connection, sends one request on stream 1, and reads
 * until the server ends that stream; everything else on the connection is answered or ignored.
 */
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_CONTINUATION,
  FRAME_DATA,
  FRAME_GOAWAY,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_WINDOW_UPDATE,
  FrameReader,
  H2_REFUSED_STREAM,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_FRAME_SIZE,
  encodeFrame,
  settingsPayload,
  uint32Payload,
  type Frame,
} from './h2-frames.js'
import { HpackDecoder, encodeHeaders, type Header } from './hpack.js'
import {
  TransportError,
  connectUnix,
  type ByteConnection,
  type Connector,
} from './unix-connection.js'

export { TransportError } from './unix-connection.js'

/** gRPC status codes the hook branches on. */
export const GRPC_OK = 0
export const GRPC_UNAVAILABLE = 14

/** A gRPC status arrived: the server handled (or refused) the call. */
export interface UnaryCallResult {
  /** gRPC status code (0 = OK). */
  readonly status: number
  /** Decoded `grpc-message` (empty when absent). */
  readonly statusMessage: string
  /** The response message bytes; empty when the server sent none. */
  readonly message: Uint8Array
}

/** What to call and how long the server may take. */
export interface UnaryCallOptions {
  readonly socketPath: string
  /** `/package.Service/Method`. */
  readonly path: string
  readonly message: Uint8Array
  /** Sent as `grpc-timeout`; the local timer is the caller's job (via `signal`). */
  readonly timeoutMs: number
  /** Aborting closes the connection and rejects with TransportError('ABORTED'). */
  readonly signal: AbortSignal
  /** Connection seam for tests; defaults to the Unix-socket connector. */
  readonly connect?: Connector
}

/** Receive window we grant the server, so a reply never waits on our WINDOW_UPDATE. */
const OUR_WINDOW = 1 << 20
const STREAM_ID = 1

/** Prefix a message with the 5-byte gRPC frame header (uncompressed, big-endian length). */
export function grpcFrame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length)
  new DataView(out.buffer).setUint32(1, message.length)
  out.set(message, 5)
  return out
}

/** Take the single message out of a gRPC response body; refuses compression and extra data. */
export function grpcUnframe(body: Uint8Array): Uint8Array {
  if (body.length === 0) return body
  if (body.length < 5) throw new TransportError('truncated gRPC message header', 'EPROTO')
  if (body[0] !== 0) throw new TransportError('compressed gRPC message not supported', 'EPROTO')
  const len = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1)
  if (body.length !== 5 + len) throw new TransportError('gRPC message length mismatch', 'EPROTO')
  return body.subarray(5)
}

/** `grpc-message` is percent-encoded (gRPC PROTOCOL-HTTP2); undo it, keeping bad escapes as is. */
export function decodeGrpcMessage(raw: string): string {
  const bytes: number[] = []
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    const hex = raw.slice(i + 1, i + 3)
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      i += 2
    } else {
      bytes.push(c & 0xff)
    }
  }
  return new TextDecoder().decode(Uint8Array.from(bytes))
}

/** The request headers of a unary gRPC call (no user agent: nothing to identify but the path). */
export function requestHeaders(path: string, timeoutMs: number): Header[] {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['grpc-timeout', `${Math.min(99_999_999, Math.max(1, Math.ceil(timeoutMs)))}m`],
  ]
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0
  for (const c of chunks) total += c.length
  const out = new Uint8Array(total)
  let pos = 0
  for (const c of chunks) {
    out.set(c, pos)
    pos += c.length
  }
  return out
}

/** Strip padding (and the priority block for HEADERS) from a frame payload. */
function framePayload(f: Frame): Uint8Array {
  let p = f.payload
  let padLen = 0
  if (f.flags & FLAG_PADDED) {
    padLen = p[0] ?? 0
    p = p.subarray(1)
  }
  if (f.type === FRAME_HEADERS && f.flags & FLAG_PRIORITY) p = p.subarray(5)
  if (padLen > p.length) throw new TransportError('bad HTTP/2 padding', 'EPROTO')
  return p.subarray(0, p.length - padLen)
}

/** State of the single stream and connection, driven by incoming frames. */
class UnaryCall {
  readonly #reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE)
  readonly #hpack = new HpackDecoder()
  readonly #body: Uint8Array[] = []
  #conn: ByteConnection | undefined
  #pendingData: Uint8Array
  #dataSent = false
  #connWindow = DEFAULT_WINDOW
  #streamWindow = DEFAULT_WINDOW
  #peerInitialWindow = DEFAULT_WINDOW
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE
  #headerBlock: Uint8Array[] | undefined
  #headerBlockEndsStream = false
  #sawResponseHeaders = false
  #status: number | undefined
  #statusMessage = ''
  #done = false

  constructor(
    private readonly opts: UnaryCallOptions,
    private readonly resolve: (r: UnaryCallResult) => void,
    private readonly reject: (e: TransportError) => void,
  ) {
    this.#pendingData = grpcFrame(opts.message)
  }

  start(conn: ByteConnection): void {
    this.#conn = conn
    const hello = [
      CLIENT_PREFACE,
      encodeFrame(
        FRAME_SETTINGS,
        0,
        0,
        settingsPayload([
          [SETTINGS_ENABLE_PUSH, 0],
          [SETTINGS_INITIAL_WINDOW_SIZE, OUR_WINDOW],
        ]),
      ),
      encodeFrame(FRAME_WINDOW_UPDATE, 0, 0, uint32Payload(OUR_WINDOW - DEFAULT_WINDOW)),
      encodeFrame(
        FRAME_HEADERS,
        FLAG_END_HEADERS,
        STREAM_ID,
        encodeHeaders(requestHeaders(this.opts.path, this.opts.timeoutMs)),
      ),
    ]
    conn.write(concat([...hello, ...this.#takeData()]))
  }

  /** DATA frames that fit the flow-control windows now; the last one ends the stream. */
  #takeData(): Uint8Array[] {
    const frames: Uint8Array[] = []
    while (!this.#dataSent) {
      const room = Math.min(this.#connWindow, this.#streamWindow, this.#peerMaxFrame)
      if (room <= 0 && this.#pendingData.length > 0) break
      const n = Math.min(room, this.#pendingData.length)
      const chunk = this.#pendingData.subarray(0, n)
      this.#pendingData = this.#pendingData.subarray(n)
      this.#connWindow -= n
      this.#streamWindow -= n
      const last = this.#pendingData.length === 0
      frames.push(encodeFrame(FRAME_DATA, last ? FLAG_END_STREAM : 0, STREAM_ID, chunk))
      if (last) this.#dataSent = true
    }
    return frames
  }

  #send(frames: Uint8Array[]): void {
    if (frames.length > 0 && this.#conn) this.#conn.write(concat(frames))
  }

  fail(err: TransportError): void {
    if (this.#done) return
    this.#done = true
    this.#conn?.close()
    this.reject(err)
  }

  #succeed(): void {
    if (this.#done) return
    this.#done = true
    this.#conn?.close()
    try {
      const message = grpcUnframe(concat(this.#body))
      this.resolve({ status: this.#status ?? 0, statusMessage: this.#statusMessage, message })
    } catch (err: unknown) {
      this.reject(err instanceof TransportError ? err : new TransportError(String(err), 'EPROTO'))
    }
  }

  #finished(): boolean {
    return this.#done
  }

  onData(chunk: Uint8Array): void {
    if (this.#done) return
    try {
      for (const f of this.#reader.push(chunk)) {
        this.#onFrame(f)
        if (this.#finished()) return // a frame may have ended the call
      }
    } catch (err: unknown) {
      this.fail(
        err instanceof TransportError
          ? err
          : new TransportError(
              `HTTP/2 protocol error: ${err instanceof Error ? err.message : String(err)}`,
              'EPROTO',
            ),
      )
    }
  }

  onClose(err?: TransportError): void {
    this.fail(
      err ?? new TransportError('connection closed before a gRPC status arrived', 'ECLOSED'),
    )
  }

  #onFrame(f: Frame): void {
    if (this.#headerBlock && f.type !== FRAME_CONTINUATION) {
      throw new TransportError('expected CONTINUATION frame', 'EPROTO')
    }
    switch (f.type) {
      case FRAME_SETTINGS:
        this.#onSettings(f)
        return
      case FRAME_PING:
        if (!(f.flags & FLAG_ACK)) this.#send([encodeFrame(FRAME_PING, FLAG_ACK, 0, f.payload)])
        return
      case FRAME_WINDOW_UPDATE: {
        const inc = new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0) & 0x7fffffff
        if (f.streamId === 0) this.#connWindow += inc
        else if (f.streamId === STREAM_ID) this.#streamWindow += inc
        this.#send(this.#takeData())
        return
      }
      case FRAME_GOAWAY: {
        const lastStream =
          new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0) & 0x7fffffff
        if (lastStream < STREAM_ID) {
          this.fail(
            new TransportError('server is going away (GOAWAY before our stream)', 'EH2_GOAWAY'),
          )
        }
        return
      }
      case FRAME_RST_STREAM: {
        if (f.streamId !== STREAM_ID) return
        const code = new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0)
        this.fail(
          code === H2_REFUSED_STREAM
            ? new TransportError('server refused the stream', 'EH2_REFUSED')
            : new TransportError(`server reset the stream (HTTP/2 error ${code})`, 'EH2_RESET'),
        )
        return
      }
      case FRAME_HEADERS:
        this.#headerBlock = [framePayload(f)]
        this.#headerBlockEndsStream = (f.flags & FLAG_END_STREAM) !== 0
        if (f.flags & FLAG_END_HEADERS) this.#onHeaderBlock(f.streamId)
        return
      case FRAME_CONTINUATION:
        if (!this.#headerBlock) throw new TransportError('unexpected CONTINUATION frame', 'EPROTO')
        this.#headerBlock.push(f.payload)
        if (f.flags & FLAG_END_HEADERS) this.#onHeaderBlock(f.streamId)
        return
      case FRAME_DATA:
        if (f.streamId === STREAM_ID) {
          this.#body.push(framePayload(f))
          if (f.flags & FLAG_END_STREAM) this.#endStream()
        }
        return
      default:
        return // PRIORITY, unknown extension frames: ignored (RFC 9113 §4.1)
    }
  }

  #onSettings(f: Frame): void {
    if (f.flags & FLAG_ACK) return
    const dv = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength)
    for (let i = 0; i + 6 <= f.payload.length; i += 6) {
      const id = dv.getUint16(i)
      const value = dv.getUint32(i + 2)
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        this.#streamWindow += value - this.#peerInitialWindow
        this.#peerInitialWindow = value
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        this.#peerMaxFrame = value
      }
    }
    this.#send([encodeFrame(FRAME_SETTINGS, FLAG_ACK, 0, new Uint8Array(0)), ...this.#takeData()])
  }

  #onHeaderBlock(streamId: number): void {
    const block = concat(this.#headerBlock ?? [])
    this.#headerBlock = undefined
    const headers = this.#hpack.decode(block) // always decode: keeps the dynamic table in sync
    if (streamId !== STREAM_ID) return
    const get = (name: string): string | undefined => headers.find(([n]) => n === name)?.[1]
    if (!this.#sawResponseHeaders) {
      this.#sawResponseHeaders = true
      const httpStatus = get(':status')
      if (httpStatus !== '200') {
        throw new TransportError(
          `HTTP status ${httpStatus ?? 'missing'} from the hook socket`,
          'EPROTO',
        )
      }
    }
    const grpcStatus = get('grpc-status')
    if (grpcStatus !== undefined) {
      this.#status = Number(grpcStatus)
      this.#statusMessage = decodeGrpcMessage(get('grpc-message') ?? '')
    }
    if (this.#headerBlockEndsStream) this.#endStream()
  }

  #endStream(): void {
    if (this.#status === undefined) {
      this.fail(new TransportError('stream ended without a gRPC status', 'EPROTO'))
      return
    }
    this.#succeed()
  }
}

/** Make the call; resolves with the gRPC status, rejects with TransportError. */
export function grpcUnixCall(opts: UnaryCallOptions): Promise<UnaryCallResult> {
  return new Promise((resolve, reject) => {
    const call = new UnaryCall(opts, resolve, reject)
    const onAbort = (): void => {
      call.fail(new TransportError('call aborted', 'ABORTED'))
    }
    if (opts.signal.aborted) {
      onAbort()
      return
    }
    opts.signal.addEventListener('abort', onAbort, { once: true })
    const connect = opts.connect ?? connectUnix
    connect(opts.socketPath, {
      data: chunk => {
        call.onData(chunk)
      },
      close: err => {
        call.onClose(err)
      },
    }).then(
      conn => {
        if (opts.signal.aborted) {
          conn.close()
          return
        }
        call.start(conn)
      },
      (err: unknown) => {
        call.fail(err instanceof TransportError ? err : new TransportError(String(err), 'EUNKNOWN'))
      },
    )
  })
}
