/**
 * Typed-enough unary gRPC calls from a proto-loader service definition, without generated client classes:
 * used by the health probe (which calls our own sockets) and by the kubelet emulator in tests.
 */
import {
  Client,
  credentials,
  Metadata,
  type MethodDefinition,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js'
import { DriverError } from '../errors.js'

/** An insecure client for a Unix socket, as the kubelet dials plugins (`unix:<path>`). */
export function unixClient(socketPath: string): Client {
  return new Client(`unix:${socketPath}`, credentials.createInsecure())
}

/** Looks a method up by its proto name (e.g. `GetInfo`). */
export function methodOf(
  service: ServiceDefinition,
  name: string,
): MethodDefinition<unknown, unknown> {
  const m = service[name] as MethodDefinition<unknown, unknown> | undefined
  if (!m || m.requestStream || m.responseStream) {
    throw new DriverError('NDRA_INTERNAL', `no unary method ${name} in service definition`)
  }
  return m
}

/**
 * One unary call with an absolute deadline `timeoutMs` from now. Rejects with the grpc-js
 * `ServiceError` (it carries `code` and `details`).
 */
export function callUnary(
  client: Client,
  method: MethodDefinition<unknown, unknown>,
  request: unknown,
  timeoutMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, value?: unknown) => {
        if (err) reject(err)
        else resolve(value)
      },
    )
  })
}
