/**
 * One HTTP/1.1 POST to a server on a Unix socket, the hook's only transport. In the shipped
 * executable (bun) it is the runtime's native `fetch(url, { unix })`, which costs no extra start-up
 * (measured, hook/README.md); under Node (tests, development) it is node:http with `socketPath`,
 * imported lazily so the bun build never loads it.
 */

/** The request could not be sent or its answer not read; `code` is errno-style (ENOENT, …). */
export class TransportError extends Error {
  readonly code: string
  constructor(message: string, code: string) {
    super(message)
    this.name = 'TransportError'
    this.code = code
  }
}

/** `code` of a TransportError raised because the caller's signal fired. */
export const ABORTED = 'ABORTED'

/**
 * `code` when the other end answered something that is not HTTP/1.1: bun's fetch says
 * `Malformed_HTTP_Response`, node:http's parser `HPE_…`. In practice that is a plugin of an older
 * release still holding the socket during an upgrade (it spoke gRPC over HTTP/2).
 */
export const NOT_HTTP1 = 'EPROTO'

/** One POST. */
export interface PostOptions {
  readonly socketPath: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
  /** Aborts the call; the promise then rejects with TransportError(ABORTED). */
  readonly signal: AbortSignal
}

/** The server's answer: status and the whole body. */
export interface PostResult {
  readonly status: number
  readonly body: Uint8Array
}

/** Sends one POST; rejects with TransportError only. */
export type Poster = (opts: PostOptions) => Promise<PostResult>

function codeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    if (err.code === 'Malformed_HTTP_Response' || err.code.startsWith('HPE_')) return NOT_HTTP1
    return err.code
  }
  return 'EUNKNOWN'
}

function toTransportError(err: unknown, opts: PostOptions): TransportError {
  if (opts.signal.aborted) return new TransportError('call aborted', ABORTED)
  const text = err instanceof Error ? err.message : String(err)
  return new TransportError(`${text} (${opts.socketPath})`, codeOf(err))
}

type BunFetch = (url: string, init: RequestInit & { unix: string }) => Promise<Response>

function isBun(): boolean {
  return (globalThis as { Bun?: unknown }).Bun !== undefined
}

async function postBun(opts: PostOptions): Promise<PostResult> {
  const bunFetch = fetch as unknown as BunFetch
  try {
    const res = await bunFetch(`http://localhost${opts.path}`, {
      method: 'POST',
      headers: { ...opts.headers },
      body: opts.body,
      signal: opts.signal,
      unix: opts.socketPath,
    })
    return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) }
  } catch (err: unknown) {
    throw toTransportError(err, opts)
  }
}

async function postNode(opts: PostOptions): Promise<PostResult> {
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => {
      reject(toTransportError(err, opts))
    }
    const req = request(
      {
        socketPath: opts.socketPath,
        path: opts.path,
        method: 'POST',
        headers: { ...opts.headers, 'content-length': String(opts.body.length) },
        signal: opts.signal,
      },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', fail)
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) })
        })
      },
    )
    req.on('error', fail)
    req.end(opts.body)
  })
}

/** The default poster: bun's fetch under bun, node:http otherwise. */
export const postUnix: Poster = opts => (isBun() ? postBun(opts) : postNode(opts))
