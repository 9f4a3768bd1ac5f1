/**
 * The hook's one job: send Attach to the plugin and wait for the answer, within a hard deadline.
 * The call is one HTTP/1.1 POST of JSON on the plugin's Unix socket (contract: proto/hook/README.md).
 * The plugin may be restarting (rolling update, crash loop), so connection failures and 503
 * (plugin unavailable) are retried with a short capped backoff until the deadline; attach is
 * idempotent on the plugin side, so a retry after a broken connection is safe. Everything else is
 * final.
 */
import {
  ABORTED,
  NOT_HTTP1,
  TransportError,
  postUnix,
  type PostOptions,
  type Poster,
} from './http-unix-post.js'

/** Path of Attach, contract version 1 (the plugin side: src/attach/hook-contract.ts). */
export const ATTACH_PATH = '/v1/attach'
/** Request header carrying the hook's remaining time in whole milliseconds. */
export const TIMEOUT_HEADER = 'network-dra-timeout-ms'
/** HTTP status of "plugin unavailable (shutting down), try again". */
export const STATUS_UNAVAILABLE = 503

/** Inputs of one hook run. */
export interface AttachWithRetryOptions {
  readonly socketPath: string
  readonly claimUid: string
  readonly request: string
  readonly device: string
  readonly ociState: Uint8Array
  /** Absolute deadline (ms on the `now` clock) after which the hook gives up. */
  readonly deadline: number
  /** Seams for unit tests; default to the real clock, timers and transport. */
  readonly now?: () => number
  readonly sleep?: (ms: number) => Promise<void>
  readonly post?: Poster
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

/**
 * Codes worth a retry: the plugin is absent or restarting, or (NOT_HTTP1) a plugin of the previous
 * release still holds the socket for the moment its successor needs to take it over.
 */
const RETRYABLE_TRANSPORT = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EAGAIN',
  NOT_HTTP1,
])

/** Whether a transport failure may heal by itself (plugin restarting) and so deserves a retry. */
export function isRetryableTransport(code: string): boolean {
  return RETRYABLE_TRANSPORT.has(code)
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The request body. The OCI state is embedded as the JSON it already is (not parsed, not
 * re-escaped) and comes first, so that a state which is not one JSON value makes the whole body
 * invalid (the plugin answers 400) and can never override the fields after it.
 */
export function attachBody(opts: {
  readonly claimUid: string
  readonly request: string
  readonly device: string
  readonly ociState: Uint8Array
}): Uint8Array {
  const head = encoder.encode('{"ociState":')
  const tail = encoder.encode(
    `,${JSON.stringify({ claimUid: opts.claimUid, request: opts.request, device: opts.device }).slice(1)}`,
  )
  const out = new Uint8Array(head.length + opts.ociState.length + tail.length)
  out.set(head, 0)
  out.set(opts.ociState, head.length)
  out.set(tail, head.length + opts.ociState.length)
  return out
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

/** The `message` of an error reply, or its text when it is not the JSON the contract says. */
function errorText(body: Uint8Array): string {
  const text = decoder.decode(body)
  try {
    const doc: unknown = JSON.parse(text)
    if (isRecord(doc) && typeof doc.message === 'string' && doc.message !== '') return doc.message
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim() || 'no message'
}

type Reply =
  | { ok: true; interfaceName: string; ips: string[]; mac: string; message: string }
  | { ok: false; message: string }

/** Decode a 200 reply; unknown fields are ignored (contract: fields are only added). */
export function decodeReply(body: Uint8Array): Reply {
  const doc: unknown = JSON.parse(decoder.decode(body))
  if (!isRecord(doc) || typeof doc.ok !== 'boolean') throw new Error('no boolean "ok"')
  if (!doc.ok) return { ok: false, message: str(doc.message) }
  const ips = Array.isArray(doc.ips)
    ? doc.ips.filter((x): x is string => typeof x === 'string')
    : []
  return {
    ok: true,
    interfaceName: str(doc.interfaceName),
    ips,
    mac: str(doc.mac),
    message: str(doc.message),
  }
}

function describeTransport(err: TransportError, socketPath: string): string {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
    return `cannot connect to ${socketPath} (${err.code}); is the network-dra plugin running on this node?`
  }
  if (err.code === NOT_HTTP1) {
    return `the plugin on ${socketPath} does not speak the hook contract v1 (HTTP/1.1); a plugin of an older release during an upgrade? (${err.code})`
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
  const post = opts.post ?? postUnix
  const body = attachBody(opts)
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
    const call: PostOptions = {
      socketPath: opts.socketPath,
      path: ATTACH_PATH,
      headers: {
        'content-type': 'application/json',
        connection: 'close',
        [TIMEOUT_HEADER]: String(Math.ceil(remaining)),
      },
      body,
      signal: ac.signal,
    }
    let status: number
    let replyBody: Uint8Array
    try {
      ;({ status, body: replyBody } = await post(call))
    } catch (err: unknown) {
      const te =
        err instanceof TransportError
          ? err
          : new TransportError(err instanceof Error ? err.message : String(err), 'EUNKNOWN')
      if (te.code === ABORTED) {
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
    if (status === STATUS_UNAVAILABLE) {
      lastError = `plugin unavailable: ${errorText(replyBody)}`
      const wait = Math.min(backoff, opts.deadline - now())
      if (wait > 0) await sleep(wait)
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
      continue
    }
    if (status !== 200) {
      return {
        ok: false,
        attempts,
        reason: `plugin rejected the call (HTTP ${status}): ${errorText(replyBody)}`,
      }
    }
    let reply: Reply
    try {
      reply = decodeReply(replyBody)
    } catch (err: unknown) {
      const text = err instanceof Error ? err.message : String(err)
      return { ok: false, attempts, reason: `malformed reply from plugin: ${text}` }
    }
    if (!reply.ok) {
      return { ok: false, attempts, reason: reply.message || 'plugin refused without a reason' }
    }
    return { attempts, ...reply }
  }
}
