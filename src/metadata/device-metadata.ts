/**
 * KEP-5304 device metadata files ("DRA device metadata in containers"), written the way the
 * upstream kubelet-plugin helper writes them (k8s.io/dynamic-resource-allocation
 * kubeletplugin/metadata.go and api/metadata, Kubernetes 1.36/1.37):
 * - container path `/var/run/kubernetes.io/dra-device-attributes/resourceclaims/<claim>/<request>/
 *   <driver>-metadata.json`, or `resourceclaimtemplates/<podClaimName>/…` for a claim made from a
 *   template (the `resource.kubernetes.io/pod-claim-name` annotation); `<request>` is the main
 *   request, the file's `requests[].name` keeps `<request>/<subrequest>`;
 * - host path `<root>/<namespace>_<claim>/<request>/metadata.json`, bind-mounted `ro` by CDI;
 * - content: a stream of `DeviceMetadata` objects, one per API version, newest first
 *   (`metadata.resource.k8s.io/v1beta1` then `v1alpha1`: same fields), each with a
 *   `metadata.generation` that grows on every rewrite.
 * A rewrite after CNI ADD truncates and writes the same inode: runc has bind-mounted the file
 * already when the createRuntime hook runs, so a rename would leave the container the old file.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'
import { DriverError } from '../errors.js'
import { isErrno } from '../fs/write-file-atomic.js'
import type { CdiMount } from '../cdi/cdi-spec.js'
import { mainRequestName } from '../claims/resource-claim.js'

/** Directory inside containers under which the metadata files appear (api/metadata ContainerDir). */
export const METADATA_CONTAINER_DIR = '/var/run/kubernetes.io/dra-device-attributes'
/** API group of the DeviceMetadata kind. */
export const METADATA_API_GROUP = 'metadata.resource.k8s.io'
/** Versions this driver can write; the upstream scheme knows v1alpha1 (1.36) and v1beta1 (1.37). */
export const METADATA_VERSIONS = ['v1beta1', 'v1alpha1'] as const
/** One DeviceMetadata API version. */
export type MetadataVersion = (typeof METADATA_VERSIONS)[number]
/** Annotation the kubelet's claim controller puts on claims made from a pod's template. */
export const POD_CLAIM_NAME_ANNOTATION = 'resource.kubernetes.io/pod-claim-name'

/** Subdirectory of the plugin's state directory that holds the host files (upstream: of its data dir). */
export const METADATA_HOST_SUBDIR = 'dra-device-metadata'

const FILE_MODE = 0o644
const DIR_MODE = 0o755
const HOST_FILE_NAME = 'metadata.json'

/** `resource.k8s.io/v1` NetworkDeviceData, as written into claim status and the file. */
export interface NetworkDeviceData {
  readonly interfaceName?: string | undefined
  /** CIDR notation, e.g. `10.9.0.5/24`. */
  readonly ips?: readonly string[] | undefined
  readonly hardwareAddress?: string | undefined
}

/** One allocated device of the request. */
export interface MetadataDevice {
  readonly pool: string
  readonly name: string
  readonly networkData?: NetworkDeviceData
}

/** The claim a file belongs to. */
export interface MetadataClaim {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  /** `pod.spec.resourceClaims[].name` for a claim made from a template. */
  readonly podClaimName?: string
}

/** Options of {@link DeviceMetadataFiles}. */
export interface DeviceMetadataOptions {
  /** Host directory of the files (upstream: `<plugin data dir>/dra-device-metadata`). */
  readonly root: string
  readonly driverName: string
  /** Versions to write, newest first; at least one. */
  readonly versions: readonly MetadataVersion[]
}

/** A path segment must stay one segment: no separators, no `.`/`..`, not empty. */
function assertSegment(what: string, value: string): void {
  if (
    value === '' ||
    value === '.' ||
    value === '..' ||
    value.includes('/') ||
    value.includes('\0')
  ) {
    throw new DriverError('NDRA_INVALID_ARGUMENT', `device metadata: invalid ${what} "${value}"`)
  }
}

/** The claim's template name from its annotations, when it was made from a template. */
export function podClaimNameOf(
  annotations: Readonly<Record<string, string>> | undefined,
): string | undefined {
  const v = annotations?.[POD_CLAIM_NAME_ANNOTATION]
  return v === undefined || v === '' ? undefined : v
}

/** In-container path of the file of `request` (main request or `req/sub`) of `claim`. */
export function containerMetadataPath(
  driverName: string,
  claim: Pick<MetadataClaim, 'name' | 'podClaimName'>,
  request: string,
): string {
  const base = mainRequestName(request)
  assertSegment('request name', base)
  const [sub, name] =
    claim.podClaimName !== undefined
      ? ['resourceclaimtemplates', claim.podClaimName]
      : ['resourceclaims', claim.name]
  assertSegment('claim name', name)
  return posix.join(METADATA_CONTAINER_DIR, sub, name, base, `${driverName}-metadata.json`)
}

/** The stream of DeviceMetadata objects for one request, one per version (newest first). */
export function renderMetadataStream(
  driverName: string,
  versions: readonly MetadataVersion[],
  claim: MetadataClaim,
  generation: number,
  request: string,
  devices: readonly MetadataDevice[],
): string {
  const body = {
    metadata: {
      name: claim.name,
      namespace: claim.namespace,
      uid: claim.uid,
      generation,
    },
    ...(claim.podClaimName !== undefined ? { podClaimName: claim.podClaimName } : {}),
    requests: [
      {
        name: request,
        devices: devices.map(d => ({
          driver: driverName,
          pool: d.pool,
          name: d.name,
          ...(d.networkData !== undefined ? { networkData: networkDataJson(d.networkData) } : {}),
        })),
      },
    ],
  }
  return versions
    .map(
      v =>
        `${JSON.stringify({ kind: 'DeviceMetadata', apiVersion: `${METADATA_API_GROUP}/${v}`, ...body }, null, 2)}\n`,
    )
    .join('')
}

/** NetworkDeviceData with empty fields left out (Go `omitempty`). */
function networkDataJson(n: NetworkDeviceData): NetworkDeviceData {
  return {
    ...(n.interfaceName ? { interfaceName: n.interfaceName } : {}),
    ...(n.ips && n.ips.length > 0 ? { ips: [...n.ips] } : {}),
    ...(n.hardwareAddress ? { hardwareAddress: n.hardwareAddress } : {}),
  }
}

/** The first JSON value of a stream of concatenated JSON objects. */
export function firstStreamObject(text: string): unknown {
  const start = text.search(/\S/)
  if (start < 0 || text[start] !== '{') return undefined
  let depth = 0
  let inString = false
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{') depth++
    else if (c === '}' && --depth === 0) return JSON.parse(text.slice(start, i + 1)) as unknown
  }
  return undefined
}

/** `metadata.generation` of the first object of a metadata file, 0 when there is none. */
export function generationOf(text: string): number {
  let first: unknown
  try {
    first = firstStreamObject(text)
  } catch {
    return 0
  }
  const g = (first as { metadata?: { generation?: unknown } } | undefined)?.metadata?.generation
  return typeof g === 'number' && Number.isInteger(g) && g > 0 ? g : 0
}

/** Creates, rewrites in place and removes the metadata files of prepared claims. */
export class DeviceMetadataFiles {
  readonly #o: DeviceMetadataOptions

  constructor(opts: DeviceMetadataOptions) {
    if (opts.versions.length === 0) {
      throw new DriverError('NDRA_INVALID_CONFIG', 'device metadata needs at least one version')
    }
    this.#o = { ...opts, versions: [...opts.versions] }
  }

  /** Host directory of a claim's files. */
  claimDir(namespace: string, name: string): string {
    assertSegment('namespace', namespace)
    assertSegment('claim name', name)
    return join(this.#o.root, `${namespace}_${name}`)
  }

  /** Host path of the file of `request` (main request or `req/sub`). */
  hostPath(claim: Pick<MetadataClaim, 'namespace' | 'name'>, request: string): string {
    const base = mainRequestName(request)
    assertSegment('request name', base)
    return join(this.claimDir(claim.namespace, claim.name), base, HOST_FILE_NAME)
  }

  /** The CDI mount that shows the file read-only at its KEP path. */
  mount(claim: MetadataClaim, request: string): CdiMount {
    return {
      hostPath: this.hostPath(claim, request),
      containerPath: containerMetadataPath(this.#o.driverName, claim, request),
      options: ['ro', 'bind'],
    }
  }

  /**
   * At prepare: write generation 1 with the devices but no network data yet (the interface does
   * not exist before the sandbox). An existing file is left alone: a repeated prepare must not
   * undo what an attach wrote.
   */
  async create(
    claim: MetadataClaim,
    request: string,
    devices: readonly MetadataDevice[],
  ): Promise<void> {
    const path = this.hostPath(claim, request)
    await mkdir(dirname(path), { recursive: true, mode: DIR_MODE })
    const text = this.#render(claim, 1, request, devices)
    try {
      const fh = await open(path, 'wx', FILE_MODE)
      try {
        await fh.writeFile(text)
        await fh.sync()
      } finally {
        await fh.close()
      }
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err
    }
  }

  /**
   * After CNI ADD (or DEL): rewrite the file in place (same inode: truncate, write, fsync) with
   * the next generation. Throws NDRA_CLAIM_NOT_PREPARED when the file was never created.
   */
  async update(
    claim: MetadataClaim,
    request: string,
    devices: readonly MetadataDevice[],
  ): Promise<number> {
    const path = this.hostPath(claim, request)
    let fh
    try {
      fh = await open(path, 'r+')
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        throw new DriverError(
          'NDRA_CLAIM_NOT_PREPARED',
          `device metadata of request "${request}" of claim ${claim.namespace}/${claim.name} was never created`,
        )
      }
      throw err
    }
    try {
      const generation = generationOf(await fh.readFile('utf8')) + 1
      const bytes = Buffer.from(this.#render(claim, generation, request, devices))
      await fh.truncate(0)
      await fh.write(bytes, 0, bytes.length, 0)
      await fh.sync()
      return generation
    } finally {
      await fh.close()
    }
  }

  /** The text currently in the file of `request`, or `undefined` when there is none. */
  async read(
    claim: Pick<MetadataClaim, 'namespace' | 'name'>,
    request: string,
  ): Promise<string | undefined> {
    try {
      return await readFile(this.hostPath(claim, request), 'utf8')
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined
      throw err
    }
  }

  /** At unprepare: remove every file of the claim; a missing directory is fine. */
  async removeClaim(namespace: string, name: string): Promise<void> {
    await rm(this.claimDir(namespace, name), { recursive: true, force: true })
  }

  #render(
    claim: MetadataClaim,
    generation: number,
    request: string,
    devices: readonly MetadataDevice[],
  ): string {
    return renderMetadataStream(
      this.#o.driverName,
      this.#o.versions,
      claim,
      generation,
      request,
      devices,
    )
  }
}
