/**
 * Opens the hook's byte connection to the plugin's Unix socket. In the shipped executable (bun)
 * it uses Bun's native socket, which starts ≈ 8 MiB and several ms leaner than node:net (measured,
 * hook/README.md); under Node (tests, development) it falls back to node:net, imported lazily so
 * the bun build never loads it.
 */

/** Connection failed or broke; `code` is the errno-style code used to decide on a retry. */
export class TransportError extends Error {
  readonly code: string
  constructor(message: string, code: string) {
    super(message)
    this.name = 'TransportError'
    this.code = code
  }
}

/** Callbacks from the connection to its user. */
export interface ConnectionHandlers {
  data(chunk: Uint8Array): void
  /** The connection is gone; `err` when it broke rather than closed. */
  close(err?: TransportError): void
}

/** A connected byte stream. */
export interface ByteConnection {
  write(data: Uint8Array): void
  close(): void
}

/** Opens a connection; rejects with TransportError when it cannot. */
export type Connector = (
  socketPath: string,
  handlers: ConnectionHandlers,
) => Promise<ByteConnection>

function codeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code
  }
  return 'EUNKNOWN'
}

function toTransportError(err: unknown, socketPath: string): TransportError {
  const code = codeOf(err)
  const text = err instanceof Error ? err.message : String(err)
  return new TransportError(`${text} (${socketPath})`, code)
}

interface BunSocket {
  write(data: Uint8Array): number
  end(): void
}

interface BunSocketHandlers {
  data(socket: BunSocket, chunk: Uint8Array): void
  drain(socket: BunSocket): void
  close(socket: BunSocket, err?: unknown): void
  error(socket: BunSocket, err: unknown): void
  connectError(socket: BunSocket, err: unknown): void
}

interface BunRuntime {
  connect(opts: { unix: string; socket: BunSocketHandlers }): Promise<BunSocket>
}

function bunRuntime(): BunRuntime | undefined {
  return (globalThis as { Bun?: BunRuntime }).Bun
}

async function connectBun(
  bun: BunRuntime,
  socketPath: string,
  h: ConnectionHandlers,
): Promise<ByteConnection> {
  let pending: Uint8Array[] = []
  let closed = false
  const flush = (socket: BunSocket): void => {
    while (pending.length > 0) {
      const head = pending[0] ?? new Uint8Array(0)
      const n = socket.write(head)
      if (n < 0) return
      if (n < head.length) {
        pending[0] = head.subarray(n)
        return
      }
      pending.shift()
    }
  }
  const finish = (err?: TransportError): void => {
    if (closed) return
    closed = true
    h.close(err)
  }
  let socket: BunSocket
  try {
    socket = await bun.connect({
      unix: socketPath,
      socket: {
        data: (_s, chunk) => {
          h.data(chunk)
        },
        drain: s => {
          flush(s)
        },
        close: () => {
          finish()
        },
        error: (_s, err) => {
          finish(toTransportError(err, socketPath))
        },
        connectError: () => {
          // The connect promise rejects with the same error; handled below.
        },
      },
    })
  } catch (err: unknown) {
    closed = true
    throw toTransportError(err, socketPath)
  }
  return {
    write(data) {
      if (closed) return
      pending.push(data)
      flush(socket)
    },
    close() {
      closed = true
      pending = []
      socket.end()
    },
  }
}

async function connectNode(socketPath: string, h: ConnectionHandlers): Promise<ByteConnection> {
  const { connect } = await import('node:net')
  return new Promise((resolve, reject) => {
    let connected = false
    let closed = false
    const sock = connect(socketPath)
    sock.once('connect', () => {
      connected = true
      resolve({
        write(data) {
          if (!closed) sock.write(data)
        },
        close() {
          closed = true
          sock.destroy()
        },
      })
    })
    sock.on('data', (chunk: Buffer) => {
      h.data(chunk)
    })
    sock.on('error', (err: unknown) => {
      if (!connected) {
        closed = true
        reject(toTransportError(err, socketPath))
      } else if (!closed) {
        closed = true
        h.close(toTransportError(err, socketPath))
      }
    })
    sock.on('close', () => {
      if (connected && !closed) {
        closed = true
        h.close()
      }
    })
  })
}

/** The default connector: Bun's native socket when running under bun, node:net otherwise. */
export const connectUnix: Connector = (socketPath, handlers) => {
  const bun = bunRuntime()
  return bun ? connectBun(bun, socketPath, handlers) : connectNode(socketPath, handlers)
}
