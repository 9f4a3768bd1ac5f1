/**
 * Loads the kubelet-facing protobuf definitions (plugin registration, DRA v1/v1beta1, DRA health
 * v1/v1alpha1, grpc.health.v1) from `proto/` at run time with @grpc/proto-loader, once per proto root.
 * Every module of the kubelet side takes its service definitions from here so all of them agree on
 * the loader options (camelCase field names, int64 as string, defaults filled, oneof markers).
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServiceDefinition } from '@grpc/grpc-js'
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader'
import { DriverError } from '../errors.js'

/** Loader options shared by every kubelet proto: camelCase fields (`supportedVersions`, `shareId`). */
export const PROTO_LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
})

/** Fully-qualified gRPC service names, as they appear in method paths. */
export const SERVICE_NAMES = Object.freeze({
  registration: 'pluginregistration.Registration',
  draV1: 'k8s.io.kubelet.pkg.apis.dra.v1.DRAPlugin',
  draV1beta1: 'k8s.io.kubelet.pkg.apis.dra.v1beta1.DRAPlugin',
  draHealthV1: 'v1.DRAResourceHealth',
  draHealthV1alpha1: 'v1alpha1.DRAResourceHealth',
  grpcHealth: 'grpc.health.v1.Health',
})

/**
 * The names a DRA plugin lists in `PluginInfo.supported_versions` (last proto package element plus
 * service), in the order the kubelet helper advertises them.
 */
export const DRA_SERVICE_VERSIONS = Object.freeze({
  v1: 'v1.DRAPlugin',
  v1beta1: 'v1beta1.DRAPlugin',
  healthV1: 'v1.DRAResourceHealth',
  healthV1alpha1: 'v1alpha1.DRAResourceHealth',
})

/** The `PluginInfo.type` of a DRA plugin. */
export const DRA_PLUGIN_TYPE = 'DRAPlugin'

/** Service definitions ready for `grpc.Server.addService` and `grpc.makeClientConstructor`. */
export interface KubeletProtos {
  readonly registration: ServiceDefinition
  readonly draV1: ServiceDefinition
  readonly draV1beta1: ServiceDefinition
  readonly draHealthV1: ServiceDefinition
  readonly draHealthV1alpha1: ServiceDefinition
  readonly grpcHealth: ServiceDefinition
  /** Directory the definitions were read from. */
  readonly protoRoot: string
}

/** Proto file of each service, relative to the proto root. */
const FILES = {
  registration: 'kubelet/pluginregistration/v1/api.proto',
  draV1: 'kubelet/dra/v1/api.proto',
  draV1beta1: 'kubelet/dra/v1beta1/api.proto',
  draHealthV1: 'kubelet/dra-health/v1/api.proto',
  draHealthV1alpha1: 'kubelet/dra-health/v1alpha1/api.proto',
  grpcHealth: 'grpc/health/v1/health.proto',
} as const satisfies Record<keyof typeof SERVICE_NAMES, string>

const loaded = new Map<string, KubeletProtos>()

/**
 * Finds the `proto/` directory of this package by walking up from this module, so the same code
 * works from `src/kubelet` (tsx, tap) and from `dist/src/kubelet` (compiled).
 */
export function defaultProtoRoot(fromUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fromUrl))
  for (;;) {
    const candidate = join(dir, 'proto')
    if (existsSync(join(candidate, FILES.registration))) return candidate
    const parent = dirname(dir)
    if (parent === dir) {
      throw new DriverError(
        'NDRA_INTERNAL',
        `cannot find proto/${FILES.registration} above ${fileURLToPath(fromUrl)}; ship the proto/ directory next to the package`,
      )
    }
    dir = parent
  }
}

/**
 * Loads (once per root, cached for the life of the process: the files never change at run time)
 * and returns the kubelet service definitions.
 */
export function loadKubeletProtos(protoRoot: string = defaultProtoRoot()): KubeletProtos {
  const root = resolve(protoRoot)
  const cached = loaded.get(root)
  if (cached) return cached
  const protos: KubeletProtos = {
    registration: loadService(root, 'registration'),
    draV1: loadService(root, 'draV1'),
    draV1beta1: loadService(root, 'draV1beta1'),
    draHealthV1: loadService(root, 'draHealthV1'),
    draHealthV1alpha1: loadService(root, 'draHealthV1alpha1'),
    grpcHealth: loadService(root, 'grpcHealth'),
    protoRoot: root,
  }
  loaded.set(root, protos)
  return protos
}

function loadService(root: string, key: keyof typeof FILES): ServiceDefinition {
  const file = join(root, FILES[key])
  let pkg: PackageDefinition
  try {
    pkg = loadSync(file, { ...PROTO_LOADER_OPTIONS, includeDirs: [root] })
  } catch (err: unknown) {
    throw new DriverError('NDRA_INTERNAL', `cannot load ${file}`, { cause: err })
  }
  const def = pkg[SERVICE_NAMES[key]]
  if (!def || 'format' in def) {
    throw new DriverError('NDRA_INTERNAL', `${file} does not define ${SERVICE_NAMES[key]}`)
  }
  return def
}
