// Records server-side apply bodies and created events; can fail the next calls with an HTTP
// status, so retry/backoff paths of the status writer and event recorder are testable.
import type { ClaimStatusClient } from '../../src/status/claim-status.js'
import type { CoreEvent, EventClient } from '../../src/status/pod-events.js'

export class FakeStatusClient implements ClaimStatusClient, EventClient {
  readonly applies: { namespace: string; name: string; body: unknown; fieldManager: string }[] = []
  readonly events: { namespace: string; event: CoreEvent }[] = []
  /** HTTP statuses to fail the next calls with (consumed in order). */
  failures: number[] = []

  #fail(): void {
    const e = this.errors.shift()
    if (e !== undefined) throw e
    const code = this.failures.shift()
    if (code !== undefined) throw Object.assign(new Error(`HTTP ${code}`), { code })
  }

  applyStatus(
    namespace: string,
    name: string,
    body: Readonly<Record<string, unknown>>,
    fieldManager: string,
  ): Promise<void> {
    try {
      this.#fail()
    } catch (err: unknown) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    this.applies.push({ namespace, name, body: structuredClone(body), fieldManager })
    return Promise.resolve()
  }

  /** Stored `status.devices` and resourceVersion served by readStatusDevices. */
  stored: { resourceVersion: string; devices: Record<string, unknown>[] } = {
    resourceVersion: '1',
    devices: [],
  }
  readonly jsonPatches: { namespace: string; name: string; ops: unknown; fieldManager: string }[] =
    []

  readStatusDevices(): Promise<{ resourceVersion: string; devices: Record<string, unknown>[] }> {
    return Promise.resolve(structuredClone(this.stored))
  }

  jsonPatchStatus(
    namespace: string,
    name: string,
    ops: readonly Readonly<Record<string, unknown>>[],
    fieldManager: string,
  ): Promise<void> {
    try {
      this.#fail()
    } catch (err: unknown) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    this.jsonPatches.push({ namespace, name, ops: structuredClone(ops), fieldManager })
    return Promise.resolve()
  }

  /** Fail the next calls with these errors (consumed before `failures`). */
  errors: Error[] = []

  createEvent(namespace: string, event: CoreEvent): Promise<void> {
    try {
      this.#fail()
    } catch (err: unknown) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    this.events.push({ namespace, event })
    return Promise.resolve()
  }
}
