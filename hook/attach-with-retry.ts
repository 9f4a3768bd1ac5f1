/**
 * The hook's one job: send Attach to the plugin and wait for the answer, within a hard deadline.
 * The plugin may be restarting (rolling update, crash loop), so connection failures and
 * UNAVAILABLE are retried with a short capped backoff until the deadline; attach is idempotent
 * on the plugin side, so a retry after a broken connection is safe. Everything else is final.
 */
import { decodeAttachReply, ProtoDecodeError, encodeAttachRequest } from './proto-codec.js'
import {
  GRPC_OK,
  GRPC_UNAVAILABLE,
  TransportError,
  grpcUnixCall,
  type UnaryCallOptions,
  type UnaryCallResult,
} from './grpc-unix-call.js'

/** gRPC method path of Attach (proto/hook/v1/hook.proto). */
export const ATTACH_METHOD_PATH = '/networkdra.hook.v1.Hook/Attach'

/** Inputs of one hook run. */
export interface AttachWithRetryOptions {
  readonly socketPath: string
  readonly claimUid: string
  readonly request: string
  readonly device: string
  readonly ociState: Uint8Array
  /** Absolute deadline (ms on the `now` clock) after which the hook gives up. */
  readonly deadline: number
  /** Seams for unit tests; default to the real clock, timers and call. */
  readonly now?: () => number
  readonly sleep?: (ms: number) => Promise<void>
  readonly call?: (opts: UnaryCallOptions) => Promise<UnaryCallResult>
}

/** How the run ended; `attempts` counts calls made, for logs and tests. */
export type AttachOutcome =
  | {
      readonly ok: true
      readonly attempts: number
      readonly interfaceName: string
      readonly ips: readonly string[]
      readonly mac: string
      readonly message: string
    }
  | { readonly ok: false; readonly attempts: number; readonly reason: string }

/** First backoff and its cap; short because a pod's creation waits on it. */
export const BACKOFF_INITIAL_MS = 25
export const BACKOFF_MAX_MS = 200

const RETRYABLE_TRANSPORT = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EAGAIN',
  'ECLOSED',
  'EH2_GOAWAY',
  'EH2_REFUSED',
])

/** Whether a transport failure may heal by itself (plugin restarting) and so deserves a retry. */
export function isRetryableTransport(code: string): boolean {
  return RETRYABLE_TRANSPORT.has(code)
}

function describeTransport(err: TransportError, socketPath: string): string {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
    return `cannot connect to ${socketPath} (${err.code}); is the network-dra plugin running on this node?`
  }
  return `${err.message} (${err.code})`
}

const realSleep = (ms: number): Promise<void> =>
  new Promise(resolve => {
    setTimeout(resolve, ms)
  })

/** Run the attach call with retries until it answers or the deadline passes. */
export async function attachWithRetry(opts: AttachWithRetryOptions): Promise<AttachOutcome> {
  const now = opts.now ?? Date.now
  const sleep = opts.sleep ?? realSleep
  const call = opts.call ?? grpcUnixCall
  const message = encodeAttachRequest(opts)
  let backoff = BACKOFF_INITIAL_MS
  let attempts = 0
  let lastError = 'no attempt made'
  for (;;) {
    const remaining = opts.deadline - now()
    if (remaining <= 0) {
      return {
        ok: false,
        attempts,
        reason: `no answer before the deadline; last error: ${lastError}`,
      }
    }
    attempts++
    const ac = new AbortController()
    const timer = setTimeout(() => {
      ac.abort()
    }, remaining)
    let result: UnaryCallResult
    try {
      result = await call({
        socketPath: opts.socketPath,
        path: ATTACH_METHOD_PATH,
        message,
        timeoutMs: remaining,
        signal: ac.signal,
      })
    } catch (err: unknown) {
      const te =
        err instanceof TransportError
          ? err
          : new TransportError(err instanceof Error ? err.message : String(err), 'EUNKNOWN')
      if (te.code === 'ABORTED') {
        return { ok: false, attempts, reason: `plugin did not answer before the deadline` }
      }
      lastError = describeTransport(te, opts.socketPath)
      if (!isRetryableTransport(te.code)) return { ok: false, attempts, reason: lastError }
      const wait = Math.min(backoff, opts.deadline - now())
      if (wait > 0) await sleep(wait)
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
      continue
    } finally {
      clearTimeout(timer)
    }
    if (result.status === GRPC_UNAVAILABLE) {
      lastError = `plugin unavailable: ${result.statusMessage}`
      const wait = Math.min(backoff, opts.deadline - now())
      if (wait > 0) await sleep(wait)
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
      continue
    }
    if (result.status !== GRPC_OK) {
      const text = result.statusMessage || 'no message'
      return {
        ok: false,
        attempts,
        reason: `plugin rejected the call (gRPC ${result.status}): ${text}`,
      }
    }
    try {
      const reply = decodeAttachReply(result.message)
      if (!reply.ok) {
        return { ok: false, attempts, reason: reply.message || 'plugin refused without a reason' }
      }
      return {
        ok: true,
        attempts,
        interfaceName: reply.interfaceName,
        ips: reply.ips,
        mac: reply.mac,
        message: reply.message,
      }
    } catch (err: unknown) {
      const text = err instanceof ProtoDecodeError ? err.message : String(err)
      return { ok: false, attempts, reason: `malformed reply from plugin: ${text}` }
    }
  }
}
