/**
 * Loads the hook API (proto/hook/v1/hook.proto) for the plugin side with @grpc/proto-loader.
 * The .proto is found by walking up from this module, so the same code works from src/ (tests)
 * and from dist/src/ (production image, which ships proto/ next to dist/).
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { DriverError } from '../errors.js'

/** Path of the hook .proto relative to the repository root. */
export const HOOK_PROTO_RELATIVE = join('proto', 'hook', 'v1', 'hook.proto')

/** Find proto/hook/v1/hook.proto in the nearest ancestor of `fromDir` that has it. */
export function findHookProto(fromDir: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = fromDir
  for (;;) {
    const candidate = join(dir, HOOK_PROTO_RELATIVE)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) {
      throw new DriverError('NDRA_INTERNAL', `cannot find ${HOOK_PROTO_RELATIVE} above ${fromDir}`)
    }
    dir = parent
  }
}

/** Field shapes as proto-loader hands them to us (camelCase, defaults filled, bytes as Buffer). */
export interface LoadedAttachRequest {
  claimUid: string
  request: string
  device: string
  ociState: Buffer
}

/** The `networkdra.hook.v1.Hook` service definition for `Server.addService`. */
export function loadHookService(protoPath: string = findHookProto()): ServiceDefinition {
  const def = loadSync(protoPath, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  })
  const pkg = loadPackageDefinition(def) as unknown as {
    networkdra: { hook: { v1: { Hook: { service: ServiceDefinition } } } }
  }
  return pkg.networkdra.hook.v1.Hook.service
}
