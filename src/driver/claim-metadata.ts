/**
 * Keeps the KEP-5304 metadata files of a prepared claim in step with its record: one file per main
 * request, created at prepare (devices, no network data yet), rewritten in place after every
 * attach with the same networkData the claim status gets (both come from {@link deviceStatuses}),
 * removed at unprepare. Also says which CDI device of each request carries the file's bind mount
 * (the first one: every device of a request reaches the same containers).
 */
import { allocationKey } from '../attach/attachment-plan.js'
import type { CdiMount } from '../cdi/cdi-spec.js'
import type {
  DeviceMetadataFiles,
  MetadataClaim,
  MetadataDevice,
  NetworkDeviceData,
} from '../metadata/device-metadata.js'
import { boundedNetworkData } from '../status/claim-status.js'
import type { ClaimRecord } from '../state/state-types.js'
import { deviceStatuses } from './status-observer.js'

/** One request's file content: its `req` or `req/sub` reference and its devices. */
export interface RequestMetadata {
  /** Main request name (the file path). */
  readonly request: string
  /** `requests[].name` in the file: `req/sub` for a prioritized list, else `req`. */
  readonly requestRef: string
  readonly devices: readonly MetadataDevice[]
}

/** The claim identity the files carry. */
export function metadataClaim(record: ClaimRecord): MetadataClaim {
  return {
    namespace: record.namespace,
    name: record.name,
    uid: record.uid,
    ...(record.podClaimName !== undefined ? { podClaimName: record.podClaimName } : {}),
  }
}

/**
 * Per main request, in plan order: the devices with the networkData the claim status shows
 * (`withNetwork` false at prepare, when nothing is attached yet).
 */
export function requestMetadata(record: ClaimRecord, withNetwork: boolean): RequestMetadata[] {
  const statuses = withNetwork ? deviceStatuses(record) : []
  const out = new Map<string, { requestRef: string; devices: MetadataDevice[] }>()
  record.plans.forEach((plan, i) => {
    const entry = out.get(plan.request) ?? {
      requestRef: plan.requestRef ?? plan.request,
      devices: [],
    }
    const raw = statuses[i]?.networkData
    // The same bounds the status writer applies, so file and status agree field by field.
    const bounded = raw === undefined ? {} : (boundedNetworkData(raw) as NetworkDeviceData)
    const nd = Object.keys(bounded).length > 0 ? bounded : undefined
    entry.devices.push({
      pool: plan.pool,
      name: plan.device,
      ...(nd !== undefined ? { networkData: nd } : {}),
    })
    out.set(plan.request, entry)
  })
  return [...out].map(([request, v]) => ({ request, ...v }))
}

/** The per-device CDI entries of a claim, with the metadata mount on each request's first device. */
export function cdiDevicesOf(
  record: ClaimRecord,
  files: Pick<DeviceMetadataFiles, 'mount'> | undefined,
): { device: string; request: string; mounts?: CdiMount[] }[] {
  const mounted = new Set<string>()
  return record.plans.map(p => {
    // CDI device names and the hook's --device carry the allocation key (device + share).
    const device = allocationKey(p)
    if (files === undefined || mounted.has(p.request)) return { device, request: p.request }
    mounted.add(p.request)
    return {
      device,
      request: p.request,
      mounts: [files.mount(metadataClaim(record), p.requestRef ?? p.request)],
    }
  })
}

/** The file operations the driver performs for a claim. */
export class ClaimMetadata {
  readonly #files: DeviceMetadataFiles

  constructor(files: DeviceMetadataFiles) {
    this.#files = files
  }

  /** The underlying files (mounts for the CDI spec). */
  get files(): DeviceMetadataFiles {
    return this.#files
  }

  /**
   * At prepare (and recovery): create each request's file; an existing one is kept. A fresh claim
   * has no attachments, so the file has no network data yet; a recovered one gets what it has.
   */
  async prepare(record: ClaimRecord): Promise<void> {
    const claim = metadataClaim(record)
    for (const r of requestMetadata(record, true)) {
      await this.#files.create(claim, r.requestRef, r.devices)
    }
  }

  /** After an attach: rewrite each request's file in place from the record. */
  async sync(record: ClaimRecord): Promise<void> {
    const claim = metadataClaim(record)
    for (const r of requestMetadata(record, true)) {
      await this.#files.update(claim, r.requestRef, r.devices)
    }
  }

  /** At unprepare: remove the claim's files. */
  async remove(record: Pick<ClaimRecord, 'namespace' | 'name'>): Promise<void> {
    await this.#files.removeClaim(record.namespace, record.name)
  }
}
