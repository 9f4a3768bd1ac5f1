/**
 * Benchmark-only alternative of the hook (issue "the hook's framing, by measurement"): the same
 * argv, stdin and one-line failure as hook/main.ts, but the Attach call is HTTP/1.1 + JSON on the
 * same Unix socket, sent with the runtime's native client — `fetch(…, { unix })` under bun, or
 * node:http when built with `HOOK_HTTP_CLIENT = "node-http"` — instead of the hand-written gRPC
 * stack. It is never shipped; scripts/bench/compare-hook-builders.mjs builds it with the same bun
 * flags as the real hook and times it against a node:http server (hook-fixtures.mjs).
 */
import { request as httpRequest } from 'node:http'
import { HookUsageError, parseHookArgs } from '../../hook/parse-hook-args.js'
import { failureLine, oneLine } from '../../hook/failure-line.js'
import { readStdin } from '../../hook/read-stdin.js'

declare const HOOK_HTTP_CLIENT: string | undefined

/** Path of the JSON Attach endpoint the benchmark server serves. */
export const HTTP_ATTACH_PATH = '/networkdra.hook.v1/attach'

interface Reply {
  ok: boolean
  message: string
}

const decoder = new TextDecoder()

/** The request body: the OCI state is embedded as the JSON it already is, not re-escaped. */
function body(claimUid: string, request: string, device: string, state: Uint8Array): string {
  const head = JSON.stringify({ claimUid, request, device })
  return `${head.slice(0, -1)},"ociState":${decoder.decode(state)}}`
}

async function viaFetch(socketPath: string, payload: string, timeoutMs: number): Promise<Reply> {
  const res = await fetch(`http://localhost${HTTP_ATTACH_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: payload,
    signal: AbortSignal.timeout(timeoutMs),
    unix: socketPath,
  } as RequestInit)
  return (await res.json()) as Reply
}

function viaNodeHttp(socketPath: string, payload: string, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        socketPath,
        path: HTTP_ATTACH_PATH,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        timeout: timeoutMs,
      },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Reply)
          } catch (err: unknown) {
            reject(err instanceof Error ? err : new Error(String(err)))
          }
        })
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

async function main(argv: readonly string[]): Promise<number> {
  const started = Date.now()
  let cmd
  try {
    cmd = parseHookArgs(argv)
  } catch (err: unknown) {
    if (!(err instanceof HookUsageError)) throw err
    console.error(`network-dra: invalid hook arguments: ${oneLine(err.message)}`)
    return 1
  }
  if (cmd.kind === 'version') return 0
  const state = await readStdin()
  const payload = body(cmd.claimUid, cmd.request, cmd.device, state)
  const remaining = started + cmd.timeoutMs - Date.now()
  const useFetch =
    typeof HOOK_HTTP_CLIENT === 'string'
      ? HOOK_HTTP_CLIENT === 'fetch'
      : (globalThis as { Bun?: unknown }).Bun !== undefined
  try {
    const reply = useFetch
      ? await viaFetch(cmd.socketPath, payload, remaining)
      : await viaNodeHttp(cmd.socketPath, payload, remaining)
    if (reply.ok) return 0
    console.error(failureLine(cmd, reply.message))
  } catch (err: unknown) {
    console.error(failureLine(cmd, err instanceof Error ? err.message : String(err)))
  }
  return 1
}

main(process.argv.slice(2)).then(
  code => process.exit(code),
  (err: unknown) => {
    console.error(`network-dra: hook crashed: ${oneLine(String(err))}`)
    process.exit(1)
  },
)
