// An in-memory ResourceSlice store behind the SliceClient interface: assigns names/uids/
// resourceVersions, enforces delete preconditions and update resourceVersions like the
// apiserver, emits watch events, records every call, and can wipe slices like the kubelet. With
// `dropTaints` it strips device taints on write, as an apiserver with DRADeviceTaints off does;
// with `dropSharing` it strips `allowMultipleAllocations` and capacity request policies (keeping the
// capacity values), as an apiserver with DRAConsumableCapacity off (1.35) does.
import type { SliceDevice } from '../../src/slices/device-builder.js'
import type {
  ResourceSliceObject,
  SliceClient,
  WatchEventType,
  WatchHandle,
} from '../../src/slices/slice-client.js'

type Listener = (type: WatchEventType, s: ResourceSliceObject) => void

export class FakeSliceClient implements SliceClient {
  readonly slices = new Map<string, ResourceSliceObject>()
  readonly calls: string[] = []
  readonly nodes: Record<string, string> = { 'node-a': 'uid-node-a' }
  #rv = 1
  #n = 0
  #watchers = new Set<{ selector: string; on: Listener; close: (err?: unknown) => void }>()
  /** Strip `spec.devices[].taints` on create/update (DRADeviceTaints off). */
  dropTaints = false
  /** Strip KEP-5075 fields on create/update (DRAConsumableCapacity off). */
  dropSharing = false
  /** Make the next N calls of a method throw. */
  failNext: Partial<Record<'list' | 'create' | 'update' | 'delete' | 'watch', number>> = {}

  #maybeFail(op: keyof FakeSliceClient['failNext']): void {
    const n = this.failNext[op] ?? 0
    if (n > 0) {
      this.failNext[op] = n - 1
      throw Object.assign(new Error(`injected ${op} failure`), { code: 500 })
    }
  }

  #admit(slice: ResourceSliceObject): ResourceSliceObject {
    const c = clone(slice)
    const devices = (c.spec.devices ?? []).map(d => {
      const kept: SliceDevice = { name: d.name }
      if (d.attributes !== undefined) Object.assign(kept, { attributes: d.attributes })
      if (d.capacity !== undefined) {
        const capacity = this.dropSharing
          ? Object.fromEntries(Object.entries(d.capacity).map(([k, v]) => [k, { value: v.value }]))
          : d.capacity
        Object.assign(kept, { capacity })
      }
      if (d.allowMultipleAllocations !== undefined && !this.dropSharing) {
        Object.assign(kept, { allowMultipleAllocations: d.allowMultipleAllocations })
      }
      if (d.taints !== undefined && !this.dropTaints) Object.assign(kept, { taints: d.taints })
      return kept
    })
    return { ...c, spec: { ...c.spec, devices } }
  }

  list(fieldSelector: string): Promise<ResourceSliceObject[]> {
    this.calls.push(`list ${fieldSelector}`)
    this.#maybeFail('list')
    return Promise.resolve(
      [...this.slices.values()].filter(s => matches(fieldSelector, s)).map(clone),
    )
  }

  create(slice: ResourceSliceObject): Promise<ResourceSliceObject> {
    this.#maybeFail('create')
    const name = `${slice.metadata.generateName ?? ''}${String(this.#n++).padStart(5, 'x')}`
    const stored: ResourceSliceObject = {
      ...this.#admit(slice),
      metadata: {
        ...clone(slice).metadata,
        name,
        uid: `uid-${name}`,
        resourceVersion: String(this.#rv++),
      },
    }
    this.calls.push(`create ${name} gen=${stored.spec.pool.generation}`)
    this.slices.set(name, stored)
    this.#emit('ADDED', stored)
    return Promise.resolve(clone(stored))
  }

  update(slice: ResourceSliceObject): Promise<ResourceSliceObject> {
    const name = slice.metadata.name ?? ''
    this.calls.push(`update ${name} gen=${slice.spec.pool.generation}`)
    this.#maybeFail('update')
    const cur = this.slices.get(name)
    if (cur === undefined)
      return Promise.reject(Object.assign(new Error('not found'), { code: 404 }))
    if (cur.metadata.resourceVersion !== slice.metadata.resourceVersion) {
      return Promise.reject(Object.assign(new Error('conflict'), { code: 409 }))
    }
    const stored = {
      ...this.#admit(slice),
      metadata: { ...clone(slice).metadata, resourceVersion: String(this.#rv++) },
    }
    this.slices.set(name, stored)
    this.#emit('MODIFIED', stored)
    return Promise.resolve(clone(stored))
  }

  delete(name: string, pre: { uid?: string; resourceVersion?: string }): Promise<void> {
    this.calls.push(`delete ${name}`)
    this.#maybeFail('delete')
    const cur = this.slices.get(name)
    if (cur === undefined) return Promise.resolve()
    if (
      (pre.uid !== undefined && pre.uid !== cur.metadata.uid) ||
      (pre.resourceVersion !== undefined && pre.resourceVersion !== cur.metadata.resourceVersion)
    ) {
      return Promise.reject(Object.assign(new Error('precondition failed'), { code: 409 }))
    }
    this.slices.delete(name)
    this.#emit('DELETED', cur)
    return Promise.resolve()
  }

  nodeUid(nodeName: string): Promise<string> {
    this.calls.push(`node ${nodeName}`)
    const uid = this.nodes[nodeName]
    return uid === undefined
      ? Promise.reject(Object.assign(new Error('node not found'), { code: 404 }))
      : Promise.resolve(uid)
  }

  watch(selector: string, on: Listener, close: (err?: unknown) => void): Promise<WatchHandle> {
    this.calls.push(`watch ${selector}`)
    this.#maybeFail('watch')
    const w = { selector, on, close }
    this.#watchers.add(w)
    return Promise.resolve({ stop: () => this.#watchers.delete(w) })
  }

  /** Number of open watches. */
  watching(): number {
    return this.#watchers.size
  }

  /** End every watch (as a server timeout would). */
  closeWatches(err?: unknown): void {
    for (const w of [...this.#watchers]) {
      this.#watchers.delete(w)
      w.close(err)
    }
  }

  /** Delete every slice of a node, as the kubelet does (DeleteCollection, no preconditions). */
  wipe(nodeName: string): void {
    for (const [name, s] of [...this.slices]) {
      if (s.spec.nodeName === nodeName) {
        this.slices.delete(name)
        this.#emit('DELETED', s)
      }
    }
  }

  #emit(type: WatchEventType, s: ResourceSliceObject): void {
    for (const w of this.#watchers) if (matches(w.selector, s)) w.on(type, clone(s))
  }
}

function matches(selector: string, s: ResourceSliceObject): boolean {
  return selector.split(',').every(term => {
    const [k, v] = term.split('=')
    if (k === 'spec.nodeName') return s.spec.nodeName === v
    if (k === 'spec.driver') return s.spec.driver === v
    return false
  })
}

function clone<T>(v: T): T {
  return structuredClone(v)
}
