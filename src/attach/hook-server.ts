/**
 * The plugin's hook server: serves the hook contract v1 (POST /v1/attach, JSON; proto/hook/README.md)
 * with node:http on a root-only Unix socket. Every call comes from a network-dra-hook run that
 * runc started while creating a container, so the pod's creation waits on it: the handler gets an
 * AbortSignal that fires when the hook's deadline passes or it goes away, and handler failures
 * become `ok:false` with one line that runc shows the user. While stopping, calls are answered 503
 * so the hook retries against the successor.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { chmod, link, lstat, rename, unlink } from 'node:fs/promises'
import { DriverError, errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import {
  ATTACH_PATH,
  HTTP,
  MAX_BODY_BYTES,
  TIMEOUT_HEADER,
  decodeAttachBody,
  parseTimeoutHeader,
  type AttachRequest,
} from './hook-contract.js'
import { prepareHookSocketPath } from './hook-socket-path.js'

export type { OciState } from './hook-oci-state.js'
export type { AttachRequest } from './hook-contract.js'

/** The handler's answer; `ok:false` carries the reason the hook prints. */
export interface AttachReply {
  ok: boolean
  message: string
  interfaceName?: string
  ips?: string[]
  mac?: string
}

/** What the server calls for each Attach (the attach module implements it). */
export interface AttachHandler {
  attach(req: AttachRequest, signal: AbortSignal): Promise<AttachReply>
}

/** Options of {@link HookServer}. */
export interface HookServerOptions {
  socketPath: string
  handler: AttachHandler
  logger: Logger
  /** Our uid, for the socket-directory ownership check; defaults to the process uid. */
  uid?: number
}

interface WireReply {
  ok: boolean
  message: string
  interfaceName: string
  ips: string[]
  mac: string
}

/** Reduce a reason to the single line the user will see through runc. */
export function replyLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** Map a handler failure to the reply the hook prints (DriverError code kept for matching). */
export function failureReply(err: unknown): WireReply {
  const code = err instanceof DriverError ? err.code : 'NDRA_INTERNAL'
  const text =
    err instanceof DriverError ? errorMessage(err) : `internal error: ${errorMessage(err)}`
  return { ok: false, message: `${replyLine(text)} [${code}]`, interfaceName: '', ips: [], mac: '' }
}

function toWire(reply: AttachReply): WireReply {
  return {
    ok: reply.ok,
    message: replyLine(reply.message),
    interfaceName: reply.interfaceName ?? '',
    ips: reply.ips ?? [],
    mac: reply.mac ?? '',
  }
}

/** A reply that is not an attach result: status plus the one line (ending in the error code). */
function sendError(res: ServerResponse, status: number, err: DriverError): void {
  send(res, status, { ok: false, message: `${replyLine(errorMessage(err))} [${err.code}]` })
}

function send(res: ServerResponse, status: number, reply: object): void {
  const text = JSON.stringify(reply)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

/** Read the request body up to `limit` bytes; resolves undefined when it is larger. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    let over = false
    req.on('data', (c: Buffer) => {
      total += c.length
      if (total > limit) over = true
      if (!over) chunks.push(c)
    })
    req.on('end', () => {
      resolve(over ? undefined : Buffer.concat(chunks, total))
    })
    req.on('error', reject)
    req.on('close', () => {
      if (!req.complete) reject(new Error('connection closed before the end of the request body'))
    })
  })
}

/**
 * Serves the hook API. Lifecycle: `start()` prepares the socket directory (0700), removes a stale
 * socket, binds, and restricts the socket to 0600; `stop(graceMs)` stops accepting connections,
 * answers 503 to calls that still arrive, lets in-flight attaches finish for up to `graceMs`, then
 * aborts them and closes everything.
 */
export class HookServer {
  readonly #opts: HookServerOptions
  readonly #inflight = new Set<AbortController>()
  #server: Server | undefined
  #stopping = false
  /** Identity of the socket file we bound, so stop() never removes a successor's socket. */
  #socketId: { dev: number; ino: number } | undefined

  constructor(opts: HookServerOptions) {
    this.#opts = opts
  }

  /** Number of Attach calls being handled now (for metrics and tests). */
  get inflight(): number {
    return this.#inflight.size
  }

  async start(): Promise<void> {
    if (this.#server) throw new DriverError('NDRA_INTERNAL', 'hook server already started')
    const { socketPath, logger } = this.#opts
    await prepareHookSocketPath(socketPath, this.#opts.uid ?? process.getuid?.() ?? 0)
    const server = createServer((req, res) => {
      this.#route(req, res).catch((err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'hook call failed unexpectedly')
        res.destroy()
      })
    })
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(
          new DriverError('NDRA_INTERNAL', `bind ${socketPath}: ${err.message}`, { cause: err }),
        )
      }
      server.once('error', onError)
      server.listen(socketPath, () => {
        server.removeListener('error', onError)
        resolve()
      })
    })
    server.on('error', (err: Error) => {
      logger.error({ err: errorMessage(err) }, 'hook server error')
    })
    await chmod(socketPath, 0o600)
    const st = await lstat(socketPath)
    this.#socketId = { dev: st.dev, ino: st.ino }
    this.#server = server
    this.#stopping = false
    logger.info({ socket: socketPath }, 'hook server listening')
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { logger } = this.#opts
    const path = (req.url ?? '').split('?')[0]
    if (path !== ATTACH_PATH) {
      sendError(res, HTTP.notFound, new DriverError('NDRA_HOOK_PROTOCOL', `no such path ${path}`))
      return
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      sendError(
        res,
        HTTP.methodNotAllowed,
        new DriverError('NDRA_HOOK_PROTOCOL', `method ${req.method ?? ''} not allowed`),
      )
      return
    }
    let body: Buffer | undefined
    try {
      body = await readBody(req, MAX_BODY_BYTES)
    } catch (err: unknown) {
      logger.warn({ err: errorMessage(err) }, 'hook call broke while reading its body')
      return
    }
    // Checked once the body is in: a call that was still arriving when stop() began goes to the
    // successor (the hook retries 503) rather than delaying this instance's exit.
    if (this.#stopping) {
      sendError(
        res,
        HTTP.unavailable,
        new DriverError('NDRA_SHUTTING_DOWN', 'plugin is shutting down'),
      )
      return
    }
    if (!body) {
      sendError(
        res,
        HTTP.tooLarge,
        new DriverError('NDRA_HOOK_PROTOCOL', `request body larger than ${MAX_BODY_BYTES} bytes`),
      )
      return
    }
    let attachReq: AttachRequest
    let timeoutMs: number
    try {
      timeoutMs = parseTimeoutHeader(req.headers[TIMEOUT_HEADER])
      attachReq = decodeAttachBody(body)
    } catch (err: unknown) {
      logger.warn({ err: errorMessage(err) }, 'malformed hook call')
      sendError(
        res,
        HTTP.badRequest,
        err instanceof DriverError ? err : new DriverError('NDRA_HOOK_PROTOCOL', String(err)),
      )
      return
    }
    await this.#attach(attachReq, timeoutMs, res)
  }

  async #attach(req: AttachRequest, timeoutMs: number, res: ServerResponse): Promise<void> {
    const { logger, handler } = this.#opts
    const ac = new AbortController()
    const timer = setTimeout(() => {
      ac.abort(new DriverError('NDRA_HOOK_TIMEOUT', 'hook deadline passed'))
    }, timeoutMs)
    const onClose = (): void => {
      if (!res.writableFinished) {
        ac.abort(new DriverError('NDRA_HOOK_TIMEOUT', 'hook went away before the answer'))
      }
    }
    res.on('close', onClose)
    this.#inflight.add(ac)
    const log = logger.child({ claimUID: req.claimUid, request: req.request, device: req.device })
    const t0 = performance.now()
    let reply: WireReply
    try {
      reply = toWire(await handler.attach(req, ac.signal))
    } catch (err: unknown) {
      reply = failureReply(err)
      const level = err instanceof DriverError ? 'warn' : 'error'
      log[level](
        { err: errorMessage(err), code: err instanceof DriverError ? err.code : 'NDRA_INTERNAL' },
        'attach failed',
      )
    } finally {
      clearTimeout(timer)
      this.#inflight.delete(ac)
    }
    log.debug({ ok: reply.ok, ms: Math.round(performance.now() - t0) }, 'attach answered')
    if (ac.signal.aborted) {
      log.warn('attach finished after the hook stopped waiting')
      res.destroy()
      return
    }
    res.removeListener('close', onClose)
    send(res, HTTP.ok, reply)
  }

  /** Whether the socket path still holds the file we bound (not a successor's). */
  async #socketIsOurs(): Promise<boolean | undefined> {
    try {
      const st = await lstat(this.#opts.socketPath)
      return st.dev === this.#socketId?.dev && st.ino === this.#socketId.ino
    } catch (err: unknown) {
      if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT') {
        return undefined
      }
      throw err
    }
  }

  async stop(graceMs: number): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    this.#stopping = true
    const { socketPath, logger } = this.#opts
    // During a rolling update the next plugin instance may already have replaced the socket.
    // Closing our listener unlinks the path (libuv does), which would delete the successor's
    // socket: keep a second name for it and put it back afterwards.
    const ours = await this.#socketIsOurs()
    const keep = ours === false ? `${socketPath}.successor-${process.pid}` : undefined
    if (keep) await link(socketPath, keep)
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => {
        logger.warn(
          { inflight: this.#inflight.size },
          'hook server grace period over; aborting attaches',
        )
        for (const ac of this.#inflight) {
          ac.abort(new DriverError('NDRA_SHUTTING_DOWN', 'plugin is shutting down'))
        }
        server.closeAllConnections()
        resolve()
      }, graceMs)
      // close() stops listening at once and calls back when every connection has ended; idle
      // keep-alive connections are closed by it, busy ones finish their call first.
      server.close(() => {
        clearTimeout(timer)
        resolve()
      })
    })
    if (keep) {
      await rename(keep, socketPath)
    } else if ((await this.#socketIsOurs()) === true) {
      await unlink(socketPath)
    }
    logger.info({ socket: socketPath }, 'hook server stopped')
  }
}
