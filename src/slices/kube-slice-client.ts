/**
 * The real {@link SliceClient}: `resource.k8s.io/v1` ResourceSlices and the Node through
 * `@kubernetes/client-node`. The generated client renames the device attribute key `int` to
 * `_int` (a TypeScript keyword workaround) and the capacity request policy's `default` to
 * `_default`, and drops fields it does not model, so this adapter converts attributes, capacities
 * (KEP-5075), `allowMultipleAllocations` and taints at the boundary and keeps the rest of the
 * driver on plain wire JSON.
 */
import { CoreV1Api, ResourceV1Api, Watch, type KubeConfig } from '@kubernetes/client-node'
import {
  V1DeleteOptions,
  V1Preconditions,
  type V1DeviceCapacity,
  type V1ResourceSlice,
} from '@kubernetes/client-node'
import { DriverError, errorMessage } from '../errors.js'
import { makeApiClient } from '../kube/api-clients.js'
import { httpStatusOf } from '../status/http-status.js'
import type {
  CapacityRequestPolicy,
  DeviceAttribute,
  DeviceCapacity,
  DeviceTaint,
  SliceDevice,
} from './device-builder.js'
import type {
  ResourceSliceObject,
  SliceClient,
  WatchEventType,
  WatchHandle,
} from './slice-client.js'

const SLICES_PATH = '/apis/resource.k8s.io/v1/resourceslices'

/** Build a {@link SliceClient} from a loaded KubeConfig. */
export function kubeSliceClient(kc: KubeConfig): SliceClient {
  const resource = makeApiClient(kc, ResourceV1Api)
  const core = makeApiClient(kc, CoreV1Api)
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err: unknown) {
      throw new DriverError('NDRA_KUBE_API', `${what}: ${errorMessage(err)}`, { cause: err })
    }
  }
  return {
    list: fieldSelector =>
      wrap('list resourceslices', async () => {
        const list = await resource.listResourceSlice({ fieldSelector })
        return list.items.map(fromClient)
      }),
    create: slice =>
      wrap('create resourceslice', async () =>
        fromClient(await resource.createResourceSlice({ body: toClient(slice) })),
      ),
    update: slice =>
      wrap(`update resourceslice ${slice.metadata.name ?? ''}`, async () =>
        fromClient(
          await resource.replaceResourceSlice({
            name: slice.metadata.name ?? '',
            body: toClient(slice),
          }),
        ),
      ),
    delete: (name, preconditions) =>
      wrap(`delete resourceslice ${name}`, async () => {
        try {
          await resource.deleteResourceSlice({
            name,
            body: Object.assign(new V1DeleteOptions(), {
              preconditions: Object.assign(new V1Preconditions(), preconditions),
            }),
          })
        } catch (err: unknown) {
          if (httpStatusOf(err) !== 404) throw err
        }
      }),
    nodeUid: nodeName =>
      wrap(`get node ${nodeName}`, async () => {
        const node = await core.readNode({ name: nodeName })
        const uid = node.metadata?.uid
        if (uid === undefined) throw new Error('node has no uid')
        return uid
      }),
    watch: async (fieldSelector, onEvent, onClose): Promise<WatchHandle> => {
      const ctl = await new Watch(kc).watch(
        SLICES_PATH,
        { fieldSelector, allowWatchBookmarks: true },
        (phase: string, obj: unknown) => {
          onEvent(phase as WatchEventType, obj as ResourceSliceObject)
        },
        (err: unknown) => {
          onClose(err ?? undefined)
        },
      )
      return {
        stop: () => {
          ctl.abort()
        },
      }
    },
  }
}

function toClient(slice: ResourceSliceObject): V1ResourceSlice {
  const devices = (slice.spec.devices ?? []).map(d => ({
    name: d.name,
    ...(d.attributes !== undefined
      ? {
          attributes: Object.fromEntries(
            Object.entries(d.attributes).map(([k, v]) => [
              k,
              'int' in v ? { _int: v.int } : { ...v },
            ]),
          ),
        }
      : {}),
    ...(d.capacity !== undefined
      ? {
          capacity: Object.fromEntries(
            Object.entries(d.capacity).map(([k, c]) => [k, capacityToClient(c)]),
          ),
        }
      : {}),
    ...(d.allowMultipleAllocations !== undefined
      ? { allowMultipleAllocations: d.allowMultipleAllocations }
      : {}),
    ...(d.taints !== undefined && d.taints.length > 0
      ? { taints: d.taints.map(t => ({ ...t })) }
      : {}),
  }))
  // The client serialises by its attribute maps, not by class identity: plain objects work.
  return { ...slice, spec: { ...slice.spec, devices } } as unknown as V1ResourceSlice
}

/** The client names the request policy's `default` `_default` (a reserved word in its generator).
 * A plain object, as for the whole slice in `toClient`: the client serialises by attribute maps. */
function capacityToClient(c: DeviceCapacity): {
  value: string
  requestPolicy?: Record<string, unknown>
} {
  const p = c.requestPolicy
  if (p === undefined) return { value: c.value }
  const { default: def, ...rest } = p
  return {
    value: c.value,
    requestPolicy: { ...rest, ...(def !== undefined ? { _default: def } : {}) },
  }
}

function capacityFromClient(c: V1DeviceCapacity): DeviceCapacity {
  const p = c.requestPolicy
  if (p === undefined) return { value: c.value }
  const policy: CapacityRequestPolicy = {
    ...(p._default !== undefined ? { default: p._default } : {}),
    ...(p.validValues !== undefined ? { validValues: [...p.validValues] } : {}),
    ...(p.validRange !== undefined
      ? {
          validRange: {
            min: p.validRange.min,
            ...(p.validRange.max !== undefined ? { max: p.validRange.max } : {}),
            ...(p.validRange.step !== undefined ? { step: p.validRange.step } : {}),
          },
        }
      : {}),
  }
  return { value: c.value, requestPolicy: policy }
}

function fromClient(s: V1ResourceSlice): ResourceSliceObject {
  const devices: SliceDevice[] = (s.spec.devices ?? []).map(d => ({
    name: d.name,
    ...(d.attributes !== undefined
      ? {
          attributes: Object.fromEntries(
            Object.entries(d.attributes).map(([k, v]): [string, DeviceAttribute] => {
              if (v._int !== undefined) return [k, { int: v._int }]
              if (v.bool !== undefined) return [k, { bool: v.bool }]
              if (v.version !== undefined) return [k, { version: v.version }]
              return [k, { string: v.string ?? '' }]
            }),
          ),
        }
      : {}),
    ...(d.capacity !== undefined
      ? {
          capacity: Object.fromEntries(
            Object.entries(d.capacity).map(([k, c]) => [k, capacityFromClient(c)]),
          ),
        }
      : {}),
    ...(d.allowMultipleAllocations !== undefined
      ? { allowMultipleAllocations: d.allowMultipleAllocations }
      : {}),
    ...(d.taints !== undefined && d.taints.length > 0
      ? {
          taints: d.taints.map((t): DeviceTaint => ({
            key: t.key,
            ...(t.value !== undefined && t.value !== '' ? { value: t.value } : {}),
            effect: t.effect,
          })),
        }
      : {}),
  }))
  const m: {
    name?: string
    uid?: string
    resourceVersion?: string
    ownerReferences?: readonly {
      apiVersion: string
      kind: string
      name: string
      uid: string
      controller?: boolean
    }[]
  } = s.metadata ?? {}
  return {
    apiVersion: 'resource.k8s.io/v1',
    kind: 'ResourceSlice',
    metadata: {
      ...(m.name !== undefined ? { name: m.name } : {}),
      ...(m.uid !== undefined ? { uid: m.uid } : {}),
      ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.ownerReferences !== undefined
        ? {
            ownerReferences: m.ownerReferences.map(o => ({
              apiVersion: o.apiVersion,
              kind: o.kind,
              name: o.name,
              uid: o.uid,
              ...(o.controller !== undefined ? { controller: o.controller } : {}),
            })),
          }
        : {}),
    },
    spec: {
      driver: s.spec.driver,
      pool: {
        name: s.spec.pool.name,
        generation: s.spec.pool.generation,
        resourceSliceCount: s.spec.pool.resourceSliceCount,
      },
      ...(s.spec.nodeName !== undefined ? { nodeName: s.spec.nodeName } : {}),
      devices,
    },
  }
}
