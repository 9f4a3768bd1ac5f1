/**
 * The plugin's hook server: serves `networkdra.hook.v1.Hook/Attach` (proto/hook/v1/hook.proto)
 * with grpc-js on a root-only Unix socket. Every call comes from a network-dra-hook run that
 * runc started while creating a container, so the pod's creation waits on it: the handler gets an
 * AbortSignal that fires when the hook's deadline passes or it goes away, and handler failures
 * become `ok:false` with one line that runc shows the user.
 */
import { chmod, link, lstat, rename, unlink } from 'node:fs/promises'
import {
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type ServerUnaryCall,
  type sendUnaryData,
} from '@grpc/grpc-js'
import { DriverError, errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import { loadHookService, type LoadedAttachRequest } from './hook-proto.js'
import { parseOciState, type OciState } from './hook-oci-state.js'
import { prepareHookSocketPath } from './hook-socket-path.js'

export type { OciState } from './hook-oci-state.js'

/** One validated Attach call. */
export interface AttachRequest {
  claimUid: string
  request: string
  device: string
  state: OciState
}

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
  /** Path of hook.proto; found next to the code when omitted. */
  protoPath?: string
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

/** Validate the wire request into an {@link AttachRequest}; throws NDRA_HOOK_PROTOCOL. */
export function toAttachRequest(wire: LoadedAttachRequest): AttachRequest {
  for (const [name, value] of [
    ['claim_uid', wire.claimUid],
    ['request', wire.request],
    ['device', wire.device],
  ] as const) {
    if (value === '') throw new DriverError('NDRA_HOOK_PROTOCOL', `${name} is required`)
  }
  return {
    claimUid: wire.claimUid,
    request: wire.request,
    device: wire.device,
    state: parseOciState(wire.ociState),
  }
}

/**
 * Serves the hook API. Lifecycle: `start()` prepares the socket directory (0700), removes a stale
 * socket, binds, and restricts the socket to 0600; `stop(graceMs)` stops accepting calls, lets
 * in-flight attaches finish for up to `graceMs`, then aborts them and closes everything.
 */
export class HookServer {
  readonly #opts: HookServerOptions
  readonly #inflight = new Set<AbortController>()
  #server: Server | undefined
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
    const service = loadHookService(this.#opts.protoPath)
    const server = new Server()
    server.addService(service, {
      Attach: (
        call: ServerUnaryCall<LoadedAttachRequest, WireReply>,
        cb: sendUnaryData<WireReply>,
      ) => {
        void this.#handle(call, cb)
      },
    })
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), err => {
        if (err)
          reject(
            new DriverError('NDRA_INTERNAL', `bind ${socketPath}: ${err.message}`, { cause: err }),
          )
        else resolve()
      })
    })
    await chmod(socketPath, 0o600)
    const st = await lstat(socketPath)
    this.#socketId = { dev: st.dev, ino: st.ino }
    this.#server = server
    logger.info({ socket: socketPath }, 'hook server listening')
  }

  async #handle(
    call: ServerUnaryCall<LoadedAttachRequest, WireReply>,
    cb: sendUnaryData<WireReply>,
  ): Promise<void> {
    const { logger, handler } = this.#opts
    let req: AttachRequest
    try {
      req = toAttachRequest(call.request)
    } catch (err: unknown) {
      logger.warn({ err: errorMessage(err) }, 'malformed hook call')
      cb({ code: GrpcStatus.INVALID_ARGUMENT, details: replyLine(errorMessage(err)) })
      return
    }
    const ac = new AbortController()
    const onCancel = (): void => {
      ac.abort(new DriverError('NDRA_HOOK_TIMEOUT', 'hook deadline passed or hook went away'))
    }
    call.on('cancelled', onCancel)
    if (call.cancelled) onCancel()
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
      this.#inflight.delete(ac)
      call.removeListener('cancelled', onCancel)
    }
    log.debug({ ok: reply.ok, ms: Math.round(performance.now() - t0) }, 'attach answered')
    if (ac.signal.aborted) log.warn('attach finished after the hook stopped waiting')
    cb(null, reply)
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
        server.forceShutdown()
        resolve()
      }, graceMs)
      server.tryShutdown(() => {
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
