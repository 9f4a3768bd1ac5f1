/**
 * The hook contract, version 1 (proto/hook/README.md), on the plugin side: the Attach path, the
 * deadline header, the status codes, and the decoding of a request body into a validated
 * AttachRequest. The hook keeps its own copy of the constants (it imports nothing but node:
 * built-ins); test/unit/attach/hook-contract.ts checks that both agree.
 */
import { DriverError } from '../errors.js'
import { checkOciState, type OciState } from './hook-oci-state.js'

/** One validated Attach call. */
export interface AttachRequest {
  claimUid: string
  request: string
  device: string
  state: OciState
}

/** Path of Attach, contract version 1. */
export const ATTACH_PATH = '/v1/attach'
/** Request header: the hook's remaining time in whole milliseconds (required). */
export const TIMEOUT_HEADER = 'network-dra-timeout-ms'
/** Largest deadline accepted in the header: 8 digits, the hook's own `--timeout-ms` limit. */
export const MAX_TIMEOUT_MS = 99_999_999
/** Largest request body accepted; the hook caps the OCI state it reads below this. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024

/** HTTP status codes of the contract. */
export const HTTP = {
  ok: 200,
  badRequest: 400,
  notFound: 404,
  methodNotAllowed: 405,
  tooLarge: 413,
  unavailable: 503,
} as const

function protocolError(message: string): DriverError {
  return new DriverError('NDRA_HOOK_PROTOCOL', message)
}

/** Parse the deadline header; throws NDRA_HOOK_PROTOCOL when absent or not 1…MAX_TIMEOUT_MS. */
export function parseTimeoutHeader(value: string | string[] | undefined): number {
  if (typeof value !== 'string' || !/^[0-9]{1,8}$/.test(value)) {
    throw protocolError(`header ${TIMEOUT_HEADER} must be a whole number of milliseconds`)
  }
  const ms = Number(value)
  if (ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw protocolError(`header ${TIMEOUT_HEADER} must be between 1 and ${MAX_TIMEOUT_MS}`)
  }
  return ms
}

/** Decode and validate an Attach body; throws DriverError('NDRA_HOOK_PROTOCOL'). */
export function decodeAttachBody(body: Buffer): AttachRequest {
  let doc: unknown
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch (err: unknown) {
    throw protocolError(
      `request body is not JSON (is the OCI state on the hook's stdin empty or truncated?): ${err instanceof Error ? err.message : String(err)}`,
    )
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw protocolError('request body is not a JSON object')
  }
  const fields = doc as Record<string, unknown>
  const text = (name: string): string => {
    const v = fields[name]
    if (typeof v !== 'string' || v === '') throw protocolError(`${name} is required`)
    return v
  }
  const claimUid = text('claimUid')
  const request = text('request')
  const device = text('device')
  return { claimUid, request, device, state: checkOciState(fields.ociState) }
}
