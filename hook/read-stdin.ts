/**
 * Read the OCI state that runc writes on the hook's stdin (compact JSON, no trailing newline) to
 * EOF, with a size cap so a runaway writer cannot blow the hook's memory or the gRPC message limit.
 */
import type { Readable } from 'node:stream'

/** Largest state accepted: well under gRPC's default 4 MiB message limit on the plugin side. */
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
