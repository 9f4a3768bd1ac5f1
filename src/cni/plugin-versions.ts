/**
 * Which CNI spec versions each plugin binary supports, asked with the VERSION command (through the
 * runtime's `version`, like libcni's `GetVersionInfo`) and cached per binary: the key is the
 * binary's path, mtime and size, so an upgraded plugin is asked again and an unchanged one never
 * twice. Each question is bounded in time (and by the caller's signal); a failed question is not
 * cached. Prepare uses it to refuse a `cniVersion` a plugin would reject only at container start.
 */
import { stat as fsStat } from 'node:fs/promises'
import { DriverError, errorMessage } from '../errors.js'

/** The runtime operations this cache needs (CniRuntime satisfies it). */
export interface VersionRuntime {
  pluginPath(pluginType: string): Promise<string>
  version(
    pluginType: string,
    opts?: { signal?: AbortSignal | undefined },
  ): Promise<{ cniVersion: string; supportedVersions: readonly string[] }>
}

/** Identity of a binary on disk; injected so tests need no real files. */
export type BinaryStat = (path: string) => Promise<{ mtimeMs: number; size: number }>

/** Options of {@link PluginVersions}. */
export interface PluginVersionsOptions {
  readonly runtime: VersionRuntime
  /** Longest one VERSION question may take (the plugin is killed after it). */
  readonly timeoutMs: number
  /** Defaults to `fs.stat`. */
  readonly stat?: BinaryStat
  /** Most binaries remembered; the oldest entry is dropped first. Default 256. */
  readonly maxEntries?: number
}

/** What a plugin answered: its binary and the versions it supports. */
export interface PluginVersionInfo {
  readonly path: string
  readonly supportedVersions: readonly string[]
}

/** The per-binary cache of VERSION answers. */
export class PluginVersions {
  readonly #o: PluginVersionsOptions
  readonly #stat: BinaryStat
  readonly #max: number
  readonly #cache = new Map<string, Promise<readonly string[]>>()

  constructor(opts: PluginVersionsOptions) {
    if (!(opts.timeoutMs > 0)) {
      throw new DriverError('NDRA_INVALID_ARGUMENT', 'timeoutMs must be a positive number')
    }
    this.#o = opts
    this.#stat = opts.stat ?? (p => fsStat(p))
    this.#max = opts.maxEntries ?? 256
  }

  /**
   * The versions the binary of `pluginType` supports. Rejects with the runtime's error when the
   * plugin is missing or fails VERSION, and `NDRA_CNI_TIMEOUT` when it does not answer in time.
   */
  async of(pluginType: string, signal?: AbortSignal): Promise<PluginVersionInfo> {
    const path = await this.#o.runtime.pluginPath(pluginType)
    const st = await this.#stat(path)
    const key = `${path}\0${st.mtimeMs}\0${st.size}`
    let answer = this.#cache.get(key)
    if (answer === undefined) {
      answer = this.#ask(pluginType, signal)
      this.#cache.set(key, answer)
      while (this.#cache.size > this.#max) {
        const oldest = this.#cache.keys().next().value
        if (oldest === undefined) break
        this.#cache.delete(oldest)
      }
      answer.catch(() => {
        if (this.#cache.get(key) === answer) this.#cache.delete(key)
      })
    }
    return { path, supportedVersions: await answer }
  }

  async #ask(pluginType: string, signal?: AbortSignal): Promise<readonly string[]> {
    const bound = AbortSignal.timeout(this.#o.timeoutMs)
    const both = signal ? AbortSignal.any([signal, bound]) : bound
    try {
      const info = await this.#o.runtime.version(pluginType, { signal: both })
      return Object.freeze([...info.supportedVersions])
    } catch (err: unknown) {
      if (bound.aborted && !(signal?.aborted ?? false)) {
        throw new DriverError(
          'NDRA_CNI_TIMEOUT',
          `plugin "${pluginType}" did not answer VERSION within ${this.#o.timeoutMs} ms`,
          { cause: err },
        )
      }
      if (err instanceof DriverError) throw err
      throw new DriverError(
        'NDRA_CNI_PLUGIN',
        `plugin "${pluginType}" VERSION: ${errorMessage(err)}`,
        {
          cause: err,
        },
      )
    }
  }
}
