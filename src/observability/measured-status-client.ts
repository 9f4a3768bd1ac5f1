/**
 * A `ClaimStatusClient` decorator that records every ResourceClaim status write (server-side
 * apply and JSON Patch) in the `network_dra_status_write_duration_seconds` histogram, labelled by
 * operation and result (ok or the error's stable code). Reads pass through untimed; nothing else
 * changes: the same results, the same errors.
 */
import type { Histogram } from 'prom-client'
import { errorCode } from '../errors.js'
import type { ClaimStatusClient } from '../status/claim-status.js'

export class MeasuredStatusClient implements ClaimStatusClient {
  readonly #inner: ClaimStatusClient
  readonly #histogram: Histogram<'operation' | 'result'>

  constructor(inner: ClaimStatusClient, histogram: Histogram<'operation' | 'result'>) {
    this.#inner = inner
    this.#histogram = histogram
  }

  applyStatus(
    namespace: string,
    name: string,
    body: Readonly<Record<string, unknown>>,
    fieldManager: string,
  ): Promise<void> {
    return this.#time('apply', () => this.#inner.applyStatus(namespace, name, body, fieldManager))
  }

  readStatusDevices(
    namespace: string,
    name: string,
  ): Promise<{ resourceVersion: string; devices: readonly Readonly<Record<string, unknown>>[] }> {
    return this.#inner.readStatusDevices(namespace, name)
  }

  jsonPatchStatus(
    namespace: string,
    name: string,
    ops: readonly Readonly<Record<string, unknown>>[],
    fieldManager: string,
  ): Promise<void> {
    return this.#time('json_patch', () =>
      this.#inner.jsonPatchStatus(namespace, name, ops, fieldManager),
    )
  }

  async #time(operation: string, write: () => Promise<void>): Promise<void> {
    const end = this.#histogram.startTimer({ operation })
    try {
      await write()
      end({ result: 'ok' })
    } catch (err) {
      end({ result: errorCode(err) })
      throw err
    }
  }
}
