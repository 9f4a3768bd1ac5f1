/**
 * Read the OCI state that runc writes on the hook's stdin (compact JSON, no trailing newline) to
 * EOF, with a size cap so a runaway writer cannot exceed the request size the plugin accepts. Under bun (the
 * shipped executable) Bun.stdin is used: process.stdin costs the bun build ≈ 10 MiB and tens of ms
 * (measured, hook/README.md); under Node, process.stdin.
 */
import type { Readable } from 'node:stream'

/** Largest state accepted: under the plugin's 4 MiB request body limit (src/attach/hook-contract.ts). */
export const MAX_STATE_BYTES = 3 * 1024 * 1024

/** Input larger than the cap. */
export class StateTooLargeError extends Error {
  constructor(limit: number) {
    super(`container state on stdin is larger than ${limit} bytes`)
    this.name = 'StateTooLargeError'
  }
}

/** Collect a stream to EOF; rejects with StateTooLargeError past `limit` bytes. */
export async function readAll(input: Readable, limit = MAX_STATE_BYTES): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    total += buf.length
    if (total > limit) {
      input.destroy()
      throw new StateTooLargeError(limit)
    }
    chunks.push(buf)
  }
  return Buffer.concat(chunks, total)
}

interface BunStdin {
  stdin: { bytes(): Promise<Uint8Array> }
}

/** Read this process's stdin to EOF (Bun.stdin under bun, process.stdin under Node). */
export async function readStdin(limit = MAX_STATE_BYTES): Promise<Uint8Array> {
  const bun = (globalThis as { Bun?: BunStdin }).Bun
  if (!bun) return readAll(process.stdin, limit)
  const bytes = await bun.stdin.bytes()
  if (bytes.length > limit) throw new StateTooLargeError(limit)
  return bytes
}
