/**
 * The one place that turns a whole-call fault into a gRPC status. Per-claim failures never come
 * here: they travel inside the response. The kubelet shows `rpc error: code = X desc = Y` to users,
 * so `details` keeps the driver's message.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { DriverError, errorMessage, type ErrorCode } from '../errors.js'

/** A gRPC status code plus the message sent as its details. */
export interface GrpcStatus {
  readonly code: status
  readonly details: string
}

const BY_CODE: Partial<Record<ErrorCode, status>> = {
  NDRA_INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NDRA_INVALID_CONFIG: status.FAILED_PRECONDITION,
  NDRA_CLAIM_NOT_FOUND: status.NOT_FOUND,
  NDRA_CLAIM_NOT_ALLOCATED: status.FAILED_PRECONDITION,
  NDRA_CLAIM_NOT_PREPARED: status.FAILED_PRECONDITION,
  NDRA_CLAIM_IN_USE: status.FAILED_PRECONDITION,
  NDRA_POLICY_VIOLATION: status.PERMISSION_DENIED,
  NDRA_OPAQUE_CONFIG: status.INVALID_ARGUMENT,
  NDRA_STATE_LOCK: status.UNAVAILABLE,
  NDRA_SHUTTING_DOWN: status.UNAVAILABLE,
  NDRA_KUBE_API: status.UNAVAILABLE,
  NDRA_CNI_TIMEOUT: status.DEADLINE_EXCEEDED,
  NDRA_HOOK_TIMEOUT: status.DEADLINE_EXCEEDED,
}

/**
 * Maps a caught value to a gRPC status: `DriverError` by its code (unlisted codes are INTERNAL),
 * an abort by timeout to DEADLINE_EXCEEDED, any other abort to CANCELLED, anything else to INTERNAL.
 */
export function toGrpcStatus(err: unknown): GrpcStatus {
  if (err instanceof DriverError) {
    return { code: BY_CODE[err.code] ?? status.INTERNAL, details: `${err.code}: ${err.message}` }
  }
  if (err instanceof Error && err.name === 'TimeoutError') {
    return { code: status.DEADLINE_EXCEEDED, details: err.message }
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: status.CANCELLED, details: err.message }
  }
  return { code: status.INTERNAL, details: errorMessage(err) }
}

/** Builds the error object a grpc-js handler passes to its callback (or emits on a stream). */
export function toServiceError(err: unknown): ServiceError {
  const { code, details } = toGrpcStatus(err)
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() })
}
