/**
 * A `CniExec` decorator that records every plugin run's duration in the
 * `network_dra_cni_plugin_duration_seconds` histogram, labelled by plugin type, CNI command and
 * result. It changes nothing else: the same stdout, the same errors.
 */
import { basename } from 'node:path'
import type { CniExec, ExecOptions } from '../cni/exec.js'
import { errorCode } from '../errors.js'
import type { Histogram } from 'prom-client'

export class MeasuredExec implements CniExec {
  readonly #inner: CniExec
  readonly #histogram: Histogram<'plugin' | 'command' | 'result'>

  constructor(inner: CniExec, histogram: Histogram<'plugin' | 'command' | 'result'>) {
    this.#inner = inner
    this.#histogram = histogram
  }

  async execPlugin(
    path: string,
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<Uint8Array> {
    const end = this.#histogram.startTimer({
      plugin: basename(path),
      command: env.CNI_COMMAND ?? 'unknown',
    })
    try {
      const out = await this.#inner.execPlugin(path, stdin, env, opts)
      end({ result: 'ok' })
      return out
    } catch (err) {
      end({ result: errorCode(err) })
      throw err
    }
  }

  findInPath(type: string, dirs: readonly string[]): Promise<string> {
    return this.#inner.findInPath(type, dirs)
  }

  runCommand(
    argv: readonly string[],
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<string> {
    return this.#inner.runCommand(argv, env, opts)
  }
}
