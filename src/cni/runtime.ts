/**
 * The CNI runtime: libcni's network-list operations (ADD, DEL, CHECK, GC, STATUS, VERSION) over
 * injected plugin execution, with libcni's stdin injection, environment, error wrapping and result
 * cache, plus what libcni leaves to its caller: a deadline per plugin run, operations on one
 * attachment never overlapping, and GC exclusive with ADD/DEL/CHECK of its network.
 */
import { CniPluginError, DriverError, errorCode, errorMessage } from '../errors.js'
import { ResultCache, type CachedAttachment } from './cache.js'
import type { NetworkConfigList, PluginConf } from './conf.js'
import { buildPluginEnv, type CniCommand } from './env.js'
import { ProcessExec, type CniExec } from './exec.js'
import { removeIpMasqChain, usesBridgeIpMasq } from './ipmasq-cleanup.js'
import { KeyedLock } from '../util/keyed-lock.js'
import { PluginFailure } from './plugin-failure.js'
import { convertResult, parseResult, type CniResult } from './result.js'
import { buildPlainStdin, buildPluginStdin, encodeStdin } from './stdin.js'
import { validateContainerId, validateInterfaceName, validateNetworkName } from './validate.js'
import { CURRENT_CNI_VERSION, versionAtLeast } from './version.js'

export type { CniResult } from './result.js'
export type { CachedAttachment } from './cache.js'

/** The per-attachment arguments of one invocation (libcni `RuntimeConf`). */
export interface RuntimeConf {
  readonly containerId: string
  readonly netns: string
  readonly ifName: string
  readonly args: readonly (readonly [string, string])[]
  readonly capabilityArgs: Readonly<Record<string, unknown>>
}

/** An attachment GC must keep (libcni `types.GCAttachment`). */
export interface ValidAttachment {
  readonly containerId: string
  readonly ifName: string
}

/** Options of every operation. */
export interface OpOptions {
  readonly signal?: AbortSignal | undefined
}

/** Construction options. */
export interface CniRuntimeOptions {
  /** Plugin directories, searched in order (`CNI_PATH`). */
  readonly binDirs: readonly string[]
  /** libcni cache dir; entries go to `<cacheDir>/results/`. */
  readonly cacheDir: string
  /** Deadline of each single plugin run. */
  readonly pluginTimeoutMs: number
  /** Process seam; defaults to `new ProcessExec()`. */
  readonly exec?: CniExec
  /**
   * Environment plugins inherit before the `CNI_*` variables (libcni uses `os.Environ()`); the
   * entrypoint passes `process.env`. Defaults to empty.
   */
  readonly parentEnv?: Readonly<Record<string, string | undefined>>
}

type Op = 'add' | 'delete' | 'check' | 'gc' | 'status' | 'version'

const NO_ATTACHMENT: RuntimeConf = {
  containerId: '',
  netns: '',
  ifName: '',
  args: [],
  capabilityArgs: {},
}

/**
 * Runs conflists against plugin binaries. Why a class: it owns the bin dirs, cache and the locks
 * that give the spec's serialisation guarantees for every caller in the process.
 */
export class CniRuntime {
  readonly #binDirs: readonly string[]
  readonly #timeoutMs: number
  readonly #exec: CniExec
  readonly #parentEnv: Readonly<Record<string, string | undefined>>
  readonly #cache: ResultCache
  readonly #netLock = new KeyedLock()
  readonly #attLock = new KeyedLock()

  constructor(opts: CniRuntimeOptions) {
    if (!(opts.pluginTimeoutMs > 0)) {
      throw new DriverError('NDRA_INVALID_ARGUMENT', 'pluginTimeoutMs must be a positive number')
    }
    this.#binDirs = [...opts.binDirs]
    this.#timeoutMs = opts.pluginTimeoutMs
    this.#exec = opts.exec ?? new ProcessExec()
    this.#parentEnv = opts.parentEnv ?? {}
    this.#cache = new ResultCache(opts.cacheDir)
  }

  /**
   * ADD every plugin in order, threading each result into the next as `prevResult`, then cache the
   * final result. libcni does not undo a failed ADD: the caller runs `del` (the spec requires it).
   */
  async add(list: NetworkConfigList, rt: RuntimeConf, opts: OpOptions = {}): Promise<CniResult> {
    this.#validate(list, rt, 'add', true)
    return this.#locked(list.name, rt, async () => {
      let prev: CniResult | undefined
      for (const plugin of list.plugins) {
        const stdin = buildPluginStdin({
          networkName: list.name,
          cniVersion: list.cniVersion,
          plugin,
          prevResult: prev,
          capabilityArgs: rt.capabilityArgs,
        })
        const out = await this.#run('ADD', 'add', list, plugin, stdin, rt, opts)
        try {
          prev = parseResult(out, list.cniVersion)
        } catch (err: unknown) {
          throw wrapError(err, plugin, list.name, 'add')
        }
      }
      if (!prev) throw new DriverError('NDRA_CNI_CONFIG', `network "${list.name}" has no plugins`)
      try {
        await this.#cache.write({
          containerId: rt.containerId,
          networkName: list.name,
          ifName: rt.ifName,
          config: list.bytes,
          netns: rt.netns,
          cniArgs: rt.args,
          capabilityArgs: rt.capabilityArgs,
          result: prev,
        })
      } catch (err: unknown) {
        throw new DriverError(
          'NDRA_CNI_RESULT',
          `failed to set network "${list.name}" cached result: ${errorMessage(err)}`,
          { cause: err },
        )
      }
      return prev
    })
  }

  /**
   * DEL every plugin in reverse order with the cached result (in the list's version) as
   * `prevResult`. A missing cache means no prevResult; a corrupt one is deleted first. The cache
   * entry is removed on success and kept on failure, so a later DEL can retry.
   */
  async del(list: NetworkConfigList, rt: RuntimeConf, opts: OpOptions = {}): Promise<void> {
    this.#validate(list, rt, 'delete', false)
    await this.#locked(list.name, rt, () => this.#del(list, rt, opts))
  }

  /** CHECK in order with the cached result as prevResult; an error for lists older than 0.4.0. */
  async check(list: NetworkConfigList, rt: RuntimeConf, opts: OpOptions = {}): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '0.4.0')) {
      throw new DriverError(
        'NDRA_CNI_CONFIG',
        `configuration version "${list.cniVersion}" does not support the CHECK command`,
      )
    }
    if (list.disableCheck) return
    this.#validate(list, rt, 'check', false)
    await this.#locked(list.name, rt, async () => {
      let cached: CniResult | undefined
      try {
        cached = await this.#cachedInListVersion(list, rt)
      } catch (err: unknown) {
        throw new DriverError(
          'NDRA_CNI_RESULT',
          `failed to get network "${list.name}" cached result: ${errorMessage(err)}`,
          { cause: err },
        )
      }
      for (const plugin of list.plugins) {
        const stdin = buildPluginStdin({
          networkName: list.name,
          cniVersion: list.cniVersion,
          plugin,
          prevResult: cached,
          capabilityArgs: rt.capabilityArgs,
        })
        await this.#run('CHECK', 'check', list, plugin, stdin, rt, opts)
      }
    })
  }

  /**
   * Garbage-collect the network: DEL every cached attachment of this network that is not in
   * `valid` (with its cached netns, args and capability args), then, for lists ≥ 1.1.0, send GC to
   * each plugin with the valid list. Continues past errors and throws them together at the end.
   * Runs exclusively with respect to every other operation on the network.
   */
  async gc(
    list: NetworkConfigList,
    valid: readonly ValidAttachment[],
    opts: OpOptions = {},
  ): Promise<void> {
    if (list.disableGC) return
    await this.#netLock.exclusive(list.name, async () => {
      const errs: unknown[] = []
      const keep = new Set(valid.map(v => attachmentKey(v.containerId, v.ifName)))
      let cached: CachedAttachment[] = []
      try {
        cached = await this.#cache.list()
      } catch (err: unknown) {
        errs.push(err)
      }
      for (const att of cached) {
        if (att.networkName !== list.name || keep.has(attachmentKey(att.containerId, att.ifName)))
          continue
        const rt: RuntimeConf = {
          containerId: att.containerId,
          netns: att.netns,
          ifName: att.ifName,
          args: att.cniArgs,
          capabilityArgs: att.capabilityArgs,
        }
        try {
          this.#validate(list, rt, 'delete', false)
          await this.#attLock.exclusive(attachmentKey(rt.containerId, rt.ifName), () =>
            this.#del(list, rt, opts),
          )
        } catch (err: unknown) {
          errs.push(
            new DriverError(
              errorCode(err),
              `failed to delete stale attachment ${rt.containerId} ${rt.ifName}: ${errorMessage(err)}`,
              { cause: err },
            ),
          )
        }
      }
      if (versionAtLeast(list.cniVersion, '1.1.0')) {
        const attachments = valid.map(v => ({ containerID: v.containerId, ifname: v.ifName }))
        const extra = {
          'cni.dev/valid-attachments': attachments,
          'cni.dev/attachments': attachments,
        }
        for (const plugin of list.plugins) {
          const stdin = buildPlainStdin(list.name, list.cniVersion, plugin, extra)
          try {
            await this.#run('GC', 'gc', list, plugin, stdin, NO_ATTACHMENT, opts)
          } catch (err: unknown) {
            errs.push(err)
          }
        }
      }
      throwJoined(errs)
    })
  }

  /** STATUS each plugin in order (first error wins); a no-op for lists older than 1.1.0. */
  async status(list: NetworkConfigList, opts: OpOptions = {}): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '1.1.0')) return
    for (const plugin of list.plugins) {
      const stdin = buildPlainStdin(list.name, list.cniVersion, plugin)
      await this.#run('STATUS', 'status', list, plugin, stdin, NO_ATTACHMENT, opts)
    }
  }

  /** Where the plugin binary of `pluginType` is (the first match in the bin dirs), as ADD finds it. */
  pluginPath(pluginType: string): Promise<string> {
    return this.#exec.findInPath(pluginType, this.#binDirs)
  }

  /**
   * Ask a plugin which spec versions it supports (libcni `GetVersionInfo`). A plugin answering
   * `unknown CNI_COMMAND: VERSION` predates the command and supports only 0.1.0.
   */
  async version(
    pluginType: string,
    opts: OpOptions = {},
  ): Promise<{ cniVersion: string; supportedVersions: string[] }> {
    const path = await this.#exec.findInPath(pluginType, this.#binDirs)
    const env = buildPluginEnv(this.#parentEnv, {
      command: 'VERSION',
      containerId: '',
      netns: 'dummy',
      ifName: 'dummy',
      args: [],
      path: ['dummy'],
    })
    const stdin = encodeStdin({ cniVersion: CURRENT_CNI_VERSION })
    let out: Uint8Array
    try {
      out = await this.#exec.execPlugin(path, stdin, env, {
        timeoutMs: this.#timeoutMs,
        signal: opts.signal,
      })
    } catch (err: unknown) {
      if (err instanceof PluginFailure && err.message === 'unknown CNI_COMMAND: VERSION') {
        return { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] }
      }
      throw wrapError(err, { type: pluginType, raw: {} }, '', 'version')
    }
    return decodeVersionInfo(out)
  }

  /** The cached ADD result of an attachment in the list's version; undefined when none is cached. */
  async cachedResult(
    list: NetworkConfigList,
    rt: Pick<RuntimeConf, 'containerId' | 'ifName'>,
  ): Promise<CniResult | undefined> {
    return this.#cachedInListVersion(list, rt)
  }

  /** Every cached v1 attachment (optionally of one container), as libcni lists them. */
  cachedAttachments(containerId?: string): Promise<CachedAttachment[]> {
    return this.#cache.list(containerId)
  }

  async #del(list: NetworkConfigList, rt: RuntimeConf, opts: OpOptions): Promise<void> {
    let cached: CniResult | undefined
    if (versionAtLeast(list.cniVersion, '0.4.0')) {
      try {
        cached = await this.#cachedInListVersion(list, rt)
      } catch {
        await this.#cache.remove(list.name, rt.containerId, rt.ifName)
        cached = undefined
      }
    }
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      const plugin = list.plugins[i]
      if (!plugin) continue
      const stdin = buildPluginStdin({
        networkName: list.name,
        cniVersion: list.cniVersion,
        plugin,
        prevResult: cached,
        capabilityArgs: rt.capabilityArgs,
      })
      await this.#run('DEL', 'delete', list, plugin, stdin, rt, opts)
    }
    if (usesBridgeIpMasq(list)) {
      // bridge skips its masquerade teardown when the netns is already gone (see ipmasq-cleanup).
      await removeIpMasqChain(this.#exec, list.name, rt.containerId, {
        timeoutMs: this.#timeoutMs,
        signal: opts.signal,
      })
    }
    await this.#cache.remove(list.name, rt.containerId, rt.ifName)
  }

  async #cachedInListVersion(
    list: NetworkConfigList,
    rt: Pick<RuntimeConf, 'containerId' | 'ifName'>,
  ): Promise<CniResult | undefined> {
    const read = await this.#cache.read(list.name, rt.containerId, rt.ifName)
    return read ? convertResult(read.result, list.cniVersion) : undefined
  }

  #locked<T>(network: string, rt: RuntimeConf, fn: () => Promise<T>): Promise<T> {
    return this.#netLock.shared(network, () =>
      this.#attLock.exclusive(attachmentKey(rt.containerId, rt.ifName), fn),
    )
  }

  /** libcni's validators, run before any exec, failing with the CNI codes (3, 4, 7). */
  #validate(list: NetworkConfigList, rt: RuntimeConf, op: Op, checkName: boolean): void {
    const problem =
      validateContainerId(rt.containerId) ??
      (checkName ? validateNetworkName(list.name) : undefined) ??
      validateInterfaceName(rt.ifName)
    if (!problem) return
    throw new CniPluginError({
      cniCode: problem.code,
      msg: problem.msg,
      details: problem.details,
      pluginType: list.plugins[0]?.type ?? '',
      networkName: list.name,
      op,
    })
  }

  async #run(
    command: CniCommand,
    op: Op,
    list: NetworkConfigList,
    plugin: PluginConf,
    stdin: Readonly<Record<string, unknown>>,
    rt: RuntimeConf,
    opts: OpOptions,
  ): Promise<Uint8Array> {
    try {
      const path = await this.#exec.findInPath(plugin.type, this.#binDirs)
      const env = buildPluginEnv(this.#parentEnv, {
        command,
        containerId: rt.containerId,
        netns: rt.netns,
        ifName: rt.ifName,
        args: rt.args,
        path: this.#binDirs,
      })
      return await this.#exec.execPlugin(path, encodeStdin(stdin), env, {
        timeoutMs: this.#timeoutMs,
        signal: opts.signal,
      })
    } catch (err: unknown) {
      throw wrapError(err, plugin, list.name, op)
    }
  }
}

function attachmentKey(containerId: string, ifName: string): string {
  return `${containerId}/${ifName}`
}

/**
 * Wrap a failure as libcni does: `plugin type="x" name="n" failed (op): <err>`. Plugin errors keep
 * their CNI code as a `CniPluginError`; other errors keep their own driver code.
 */
function wrapError(err: unknown, plugin: PluginConf, networkName: string, op: Op): DriverError {
  if (err instanceof CniPluginError) return err
  if (err instanceof PluginFailure) {
    return new CniPluginError({
      cniCode: err.cniCode,
      msg: err.msg,
      details: err.details,
      pluginType: plugin.type,
      networkName,
      op,
      cause: err,
    })
  }
  const name = networkName ? ` name="${networkName}"` : ''
  return new DriverError(
    errorCode(err),
    `plugin type="${plugin.type}"${name} failed (${op}): ${errorMessage(err)}`,
    { cause: err },
  )
}

function throwJoined(errs: readonly unknown[]): void {
  if (errs.length === 0) return
  if (errs.length === 1) throw errs[0]
  throw new DriverError('NDRA_CNI_PLUGIN', errs.map(e => errorMessage(e)).join('\n'), {
    cause: new AggregateError(errs),
  })
}

function decodeVersionInfo(out: Uint8Array): { cniVersion: string; supportedVersions: string[] } {
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(out).toString('utf8'))
  } catch (err: unknown) {
    throw new DriverError('NDRA_CNI_RESULT', `decoding version info: ${errorMessage(err)}`, {
      cause: err,
    })
  }
  const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {}
  const cniVersion = o['cniVersion']
  if (typeof cniVersion !== 'string' || cniVersion === '') {
    throw new DriverError('NDRA_CNI_RESULT', 'decoding version info: missing field cniVersion')
  }
  const sv = o['supportedVersions']
  if (Array.isArray(sv) && sv.length > 0 && sv.every(v => typeof v === 'string')) {
    return { cniVersion, supportedVersions: sv }
  }
  if (cniVersion === '0.2.0') return { cniVersion, supportedVersions: ['0.1.0', '0.2.0'] }
  throw new DriverError('NDRA_CNI_RESULT', 'decoding version info: missing field supportedVersions')
}
