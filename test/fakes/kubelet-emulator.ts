/**
 * A stand-in for the kubelet's side of the DRA plugin protocol, over real Unix sockets, doing what
 * kubelet 1.34/1.35 does on the wire (pluginwatcher + operation_generator + dra plugin manager +
 * cm/dra manager):
 *  - discovery: watches a plugin registry directory (initial walk + fs.watch), registers any Unix
 *    socket whose name does not start with ".", deregisters when the socket file is removed;
 *  - registration: dial (10 s), GetInfo with a 1 s deadline, type must be "DRAPlugin" (else
 *    NotifyRegistrationStatus(false, "... no handler registered for plugin type ...")), empty
 *    endpoint means the registration socket, service chosen by walking the plugin's
 *    supported_versions in order and taking the first of [v1.DRAPlugin, v1beta1.DRAPlugin], an
 *    endpoint already registered is refused, then NotifyRegistrationStatus(true) with a 5 s deadline;
 *  - calls: NodePrepareResources / NodeUnprepareResources on the chosen service of the most recently
 *    registered instance with a 45 s deadline, and the kubelet's checks of the reply (unknown claim
 *    UID, per-claim error, skipped claims) with the kubelet's error texts.
 * Used by integration tests; it is not a unit-test fake of one module.
 */
import { watch, type FSWatcher } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Client } from '@grpc/grpc-js'
import { loadKubeletProtos, type KubeletProtos } from '../../src/kubelet/protos.js'
import { callUnary, methodOf, unixClient } from '../../src/kubelet/unary-call.js'

/** The services kubelet 1.34/1.35 can use, in its own preference list. */
export const SERVICES_SUPPORTED_BY_KUBELET = ['v1.DRAPlugin', 'v1beta1.DRAPlugin'] as const
export type KubeletDraService = (typeof SERVICES_SUPPORTED_BY_KUBELET)[number]

export const GET_INFO_TIMEOUT_MS = 1_000
export const NOTIFY_TIMEOUT_MS = 5_000
export const DIAL_TIMEOUT_MS = 10_000
export const CALL_TIMEOUT_MS = 45_000

export interface PluginInfo {
  type: string
  name: string
  endpoint: string
  supportedVersions: string[]
}

export interface EmulatedPlugin {
  readonly driverName: string
  readonly registrationSocket: string
  readonly endpoint: string
  readonly service: KubeletDraService
  readonly info: PluginInfo
  readonly registeredAt: number
}

export interface ClaimWire {
  namespace: string
  uid: string
  name: string
}

export interface DeviceWire {
  requestNames: string[]
  poolName: string
  deviceName: string
  cdiDeviceIds: string[]
  shareId?: string
}

export type PrepareReply = Record<string, { devices: DeviceWire[]; error: string }>
export type UnprepareReply = Record<string, { error: string }>

/** Outcome of one registration attempt, kept for assertions. */
export interface RegistrationEvent {
  readonly socket: string
  readonly ok: boolean
  readonly error?: string
}

export class KubeletEmulator {
  readonly protos: KubeletProtos
  /** Every registration attempt, in order. */
  readonly events: RegistrationEvent[] = []
  readonly #plugins = new Map<string, EmulatedPlugin[]>()
  readonly #clients = new Map<string, Client>()
  readonly #waiters = new Set<() => void>()
  readonly #pending = new Set<Promise<unknown>>()
  #watcher: FSWatcher | undefined

  constructor(opts: { protos?: KubeletProtos } = {}) {
    this.protos = opts.protos ?? loadKubeletProtos()
  }

  /** Registers the plugin behind one registration socket, exactly as the kubelet would. */
  async register(socketPath: string): Promise<EmulatedPlugin> {
    try {
      const plugin = await this.#register(socketPath)
      this.events.push({ socket: socketPath, ok: true })
      return plugin
    } catch (err: unknown) {
      this.events.push({ socket: socketPath, ok: false, error: String(err) })
      throw err
    } finally {
      for (const w of [...this.#waiters]) w()
    }
  }

  /** Starts plugin-watcher behaviour on `dir`: walk now, then react to creations and removals. */
  async watch(dir: string): Promise<void> {
    this.#watcher = watch(dir, (_event, file) => {
      if (typeof file === 'string') this.#track(this.#consider(join(dir, file)))
    })
    for (const file of await readdir(dir)) this.#track(this.#consider(join(dir, file)))
  }

  /** Resolves with the newest registered instance of `driverName`, waiting up to `timeoutMs`. */
  waitForPlugin(driverName: string, timeoutMs: number): Promise<EmulatedPlugin> {
    return this.#waitFor(
      () => this.plugin(driverName),
      timeoutMs,
      `DRA driver ${driverName} is not registered`,
    )
  }

  /** Resolves once no instance of `driverName` is registered. */
  async waitForDeregistration(driverName: string, timeoutMs: number): Promise<void> {
    await this.#waitFor(
      () => (this.plugin(driverName) ? undefined : true),
      timeoutMs,
      `DRA driver ${driverName} still registered`,
    )
  }

  /** The instance the kubelet would call: the most recently registered one. */
  plugin(driverName: string): EmulatedPlugin | undefined {
    return this.#plugins.get(driverName)?.at(-1)
  }

  /** NodePrepareResources as the kubelet calls it; throws the kubelet's error on a bad reply. */
  async prepare(driverName: string, claims: readonly ClaimWire[]): Promise<PrepareReply> {
    const reply = (await this.#call(driverName, 'NodePrepareResources', claims)) as {
      claims: PrepareReply
    }
    checkReply('NodePrepareResources', claims, reply.claims)
    return reply.claims
  }

  /** NodeUnprepareResources as the kubelet calls it; throws the kubelet's error on a bad reply. */
  async unprepare(driverName: string, claims: readonly ClaimWire[]): Promise<UnprepareReply> {
    const reply = (await this.#call(driverName, 'NodeUnprepareResources', claims)) as {
      claims: UnprepareReply
    }
    checkReply('NodeUnprepareResources', claims, reply.claims)
    return reply.claims
  }

  /** Raw call on the chosen service, without the kubelet's reply checks (for wire assertions). */
  async rawCall(
    driverName: string,
    method: string,
    claims: readonly ClaimWire[],
  ): Promise<unknown> {
    return this.#call(driverName, method, claims)
  }

  async close(): Promise<void> {
    this.#watcher?.close()
    await Promise.allSettled([...this.#pending])
    for (const c of this.#clients.values()) c.close()
    this.#clients.clear()
  }

  async #register(socketPath: string): Promise<EmulatedPlugin> {
    const client = unixClient(socketPath)
    try {
      await new Promise<void>((resolve, reject) => {
        client.waitForReady(Date.now() + DIAL_TIMEOUT_MS, err => {
          if (err) reject(err)
          else resolve()
        })
      })
      const reg = this.protos.registration
      let info: PluginInfo
      try {
        info = (await callUnary(
          client,
          methodOf(reg, 'GetInfo'),
          {},
          GET_INFO_TIMEOUT_MS,
        )) as PluginInfo
      } catch (err: unknown) {
        throw new Error(
          `RegisterPlugin error -- failed to get plugin info using RPC GetInfo at socket ${socketPath}, err: ${String(err)}`,
          { cause: err },
        )
      }
      const notify = (ok: boolean, error: string): Promise<unknown> =>
        callUnary(
          client,
          methodOf(reg, 'NotifyRegistrationStatus'),
          { pluginRegistered: ok, error },
          NOTIFY_TIMEOUT_MS,
        )
      const refuse = async (msg: string): Promise<never> => {
        // The plugin answers a refusal with an error; the kubelet only logs that.
        await notify(false, msg).catch(() => undefined)
        throw new Error(msg)
      }
      if (info.type !== 'DRAPlugin') {
        return await refuse(
          `RegisterPlugin error -- no handler registered for plugin type: ${info.type} at socket ${socketPath}`,
        )
      }
      const endpoint = info.endpoint === '' ? socketPath : info.endpoint
      const service = pickService(info.supportedVersions)
      if (typeof service !== 'string') {
        return await refuse(
          `RegisterPlugin error -- plugin validation failed with err: invalid supported gRPC versions of DRA driver plugin ${info.name} at endpoint ${endpoint}: ${service.error}`,
        )
      }
      const instances = this.#plugins.get(info.name) ?? []
      if (instances.some(p => p.endpoint === endpoint)) {
        return await refuse(
          `RegisterPlugin error -- plugin registration failed with err: endpoint ${endpoint} already registered for DRA driver plugin ${info.name}`,
        )
      }
      const plugin: EmulatedPlugin = {
        driverName: info.name,
        registrationSocket: socketPath,
        endpoint,
        service,
        info,
        registeredAt: Date.now(),
      }
      this.#plugins.set(info.name, [...instances, plugin])
      try {
        await notify(true, '')
      } catch (err: unknown) {
        throw new Error(
          `RegisterPlugin error -- failed to send registration status at socket ${socketPath}, err: ${String(err)}`,
          { cause: err },
        )
      }
      return plugin
    } finally {
      client.close()
    }
  }

  async #consider(path: string): Promise<void> {
    const base = path.slice(path.lastIndexOf('/') + 1)
    if (base.startsWith('.')) return
    const isSocket = await lstat(path).then(
      st => st.isSocket(),
      () => false,
    )
    const registered = [...this.#plugins.values()].flat().find(p => p.registrationSocket === path)
    if (!isSocket) {
      if (registered) this.#deregister(registered)
      return
    }
    if (registered) return
    await this.register(path).catch(() => undefined)
  }

  #deregister(plugin: EmulatedPlugin): void {
    const rest = (this.#plugins.get(plugin.driverName) ?? []).filter(p => p !== plugin)
    if (rest.length > 0) this.#plugins.set(plugin.driverName, rest)
    else this.#plugins.delete(plugin.driverName)
    this.#clients.get(plugin.endpoint)?.close()
    this.#clients.delete(plugin.endpoint)
    for (const w of [...this.#waiters]) w()
  }

  async #call(driverName: string, method: string, claims: readonly ClaimWire[]): Promise<unknown> {
    const plugin = this.plugin(driverName)
    if (!plugin) throw new Error(`DRA driver ${driverName} is not registered`)
    let client = this.#clients.get(plugin.endpoint)
    if (!client) {
      client = unixClient(plugin.endpoint)
      this.#clients.set(plugin.endpoint, client)
    }
    const service = plugin.service === 'v1.DRAPlugin' ? this.protos.draV1 : this.protos.draV1beta1
    try {
      return await callUnary(client, methodOf(service, method), { claims }, CALL_TIMEOUT_MS)
    } catch (err: unknown) {
      throw new Error(`${method}: ${String(err)}`, { cause: err })
    }
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p)
    const done = (): void => {
      this.#pending.delete(p)
    }
    p.then(done, done)
  }

  #waitFor<T>(probe: () => T | undefined, timeoutMs: number, msg: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const v = probe()
        if (v === undefined) return
        this.#waiters.delete(check)
        clearTimeout(timer)
        resolve(v)
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(new Error(`${msg} after ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.add(check)
      check()
    })
  }
}

/** Kubelet 1.34/1.35 `validateSupportedServices`: first of the plugin's list that the kubelet knows. */
export function pickService(supported: readonly string[]): KubeletDraService | { error: string } {
  if (supported.length === 0) {
    return { error: 'empty list of supported gRPC services (aka supported versions)' }
  }
  const chosen = supported.find((s): s is KubeletDraService =>
    (SERVICES_SUPPORTED_BY_KUBELET as readonly string[]).includes(s),
  )
  if (chosen) return chosen
  return {
    error: `none of services supported by the plugin (${JSON.stringify(supported)}) are supported by the kubelet (${JSON.stringify(SERVICES_SUPPORTED_BY_KUBELET)})`,
  }
}

/** The kubelet's checks of a batch reply (cm/dra/manager.go), with its error texts. */
function checkReply(
  method: string,
  claims: readonly ClaimWire[],
  reply: Record<string, { error: string }>,
): void {
  for (const [uid, result] of Object.entries(reply)) {
    const claim = claims.find(c => c.uid === uid)
    if (!claim) throw new Error(`${method} returned result for unknown claim UID ${uid}`)
    if (result.error !== '')
      throw new Error(`${method} failed for ResourceClaim ${claim.name}: ${result.error}`)
  }
  const unfinished = claims.length - Object.keys(reply).length
  if (unfinished !== 0) throw new Error(`${method} skipped ${unfinished} ResourceClaims`)
}
