// Hand-written fake of the CNI runtime seam attach, detach and GC use (AttachCni): records every call and
// returns a result shaped like a real interface plugin's, or fails on demand.
import type { NetworkConfigList } from '../../src/cni/conf.js'
import type { CniResult, RuntimeConf, ValidAttachment } from '../../src/cni/runtime.js'
import type { AttachCacheEntry, AttachCni } from '../../src/attach/attachment-cni.js'

export interface FakeCniCall {
  readonly op: 'add' | 'del' | 'gc'
  readonly network: string
  readonly rt?: RuntimeConf
  readonly valid?: readonly ValidAttachment[]
}

export class FakeAttachCni implements AttachCni {
  readonly calls: FakeCniCall[] = []
  /** Next ADD/DEL rejects with this error (consumed once). */
  failAdd: Error | undefined
  /** Errors for the next ADDs, in order (consumed one per ADD, after `failAdd`). */
  failAdds: Error[] = []
  failDel: Error | undefined
  /** When set, ADD waits on this promise before answering (for concurrency tests). */
  addGate: Promise<void> | undefined
  cache: AttachCacheEntry[] = []
  #next = 2
  /** Largest number of ADDs seen in flight at once. */
  maxInFlight = 0
  #inFlight = 0

  async add(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult> {
    this.calls.push({ op: 'add', network: list.name, rt })
    this.#inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight)
    try {
      if (this.addGate) await this.addGate
      else await Promise.resolve()
      const err = this.failAdd ?? this.failAdds.shift()
      if (err) {
        this.failAdd = undefined
        throw err
      }
      const n = this.#next++
      return {
        cniVersion: '1.0.0',
        interfaces: [
          {
            name: rt.ifName,
            mac: `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`,
            sandbox: rt.netns,
          },
        ],
        ips: [{ address: `10.0.0.${n}/24`, interface: 0 }],
      }
    } finally {
      this.#inFlight--
    }
  }

  async del(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    this.calls.push({ op: 'del', network: list.name, rt })
    await Promise.resolve()
    const err = this.failDel
    if (err) {
      this.failDel = undefined
      throw err
    }
  }

  async gc(list: NetworkConfigList, valid: readonly ValidAttachment[]): Promise<void> {
    this.calls.push({ op: 'gc', network: list.name, valid })
    await Promise.resolve()
  }

  async cachedAttachments(): Promise<readonly AttachCacheEntry[]> {
    await Promise.resolve()
    return this.cache
  }

  ops(): string[] {
    return this.calls.map(c => `${c.op}:${c.rt?.containerId ?? ''}`)
  }
}
