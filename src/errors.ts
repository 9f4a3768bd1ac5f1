/**
 * Typed errors with stable codes. Callers branch on `code`, never on the message; docs/errors.md
 * lists every code. One base class, subclasses only where a caller needs extra fields.
 */

/** Every stable error code the driver emits. */
export type ErrorCode =
  | 'NDRA_INVALID_CONFIG'
  | 'NDRA_INVALID_ARGUMENT'
  | 'NDRA_CNI_CONFIG'
  | 'NDRA_CNI_PLUGIN_NOT_FOUND'
  | 'NDRA_CNI_PLUGIN'
  | 'NDRA_CNI_TIMEOUT'
  | 'NDRA_CNI_RESULT'
  | 'NDRA_CDI_INVALID'
  | 'NDRA_STATE_CORRUPT'
  | 'NDRA_STATE_LOCK'
  | 'NDRA_CLAIM_NOT_ALLOCATED'
  | 'NDRA_CLAIM_NOT_FOUND'
  | 'NDRA_CLAIM_NOT_PREPARED'
  | 'NDRA_CLAIM_IN_USE'
  | 'NDRA_POLICY_VIOLATION'
  | 'NDRA_OPAQUE_CONFIG'
  | 'NDRA_POD_RESOLVE'
  | 'NDRA_NETNS'
  | 'NDRA_HOOK_PROTOCOL'
  | 'NDRA_HOOK_TIMEOUT'
  | 'NDRA_SHUTTING_DOWN'
  | 'NDRA_KUBE_API'
  | 'NDRA_KUBELET_REGISTRATION'
  | 'NDRA_INTERNAL'

/** Base class of every error the driver throws on purpose. */
export class DriverError extends Error {
  /** Stable, documented code; match on this. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'DriverError'
  }
}

/** A CNI plugin failed; keeps the plugin's own `{code, msg, details}` error. */
export class CniPluginError extends DriverError {
  /** CNI error code from the plugin (SPEC.md §5), 999 when the plugin gave none. */
  readonly cniCode: number
  readonly msg: string
  readonly details: string
  /** Plugin type and operation, e.g. `macvlan` / `add`. */
  readonly pluginType: string
  readonly op: string

  constructor(init: {
    cniCode: number
    msg: string
    details?: string
    pluginType: string
    networkName: string
    op: string
    cause?: unknown
  }) {
    const details = init.details ?? ''
    const text = details ? `${init.msg}; ${details}` : init.msg
    super(
      'NDRA_CNI_PLUGIN',
      `plugin type="${init.pluginType}" name="${init.networkName}" failed (${init.op}): ${text}`,
      { cause: init.cause },
    )
    this.name = 'CniPluginError'
    this.cniCode = init.cniCode
    this.msg = init.msg
    this.details = details
    this.pluginType = init.pluginType
    this.op = init.op
  }
}

/** Configuration given at start-up is invalid; lists every problem at once. */
export class InvalidConfigError extends DriverError {
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super('NDRA_INVALID_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'InvalidConfigError'
    this.problems = problems
  }
}

/** Narrow an unknown caught value to a message. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/** Narrow an unknown caught value to a stable code (`NDRA_INTERNAL` when it has none). */
export function errorCode(err: unknown): ErrorCode {
  return err instanceof DriverError ? err.code : 'NDRA_INTERNAL'
}
