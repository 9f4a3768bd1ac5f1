/**
 * How plugin binaries are found and run (the job of libcni's `invoke.Exec`): `findInPath` takes the
 * first regular file named `type` in the bin dirs; `ProcessExec` runs it with stdin/env, no argv,
 * captures stdout/stderr, and enforces a deadline by SIGKILLing the plugin's whole process group,
 * so IPAM plugins it delegated to die with it. Production wraps plugins in
 * `nsenter --mount=/proc/1/ns/mnt --` so they see the host's mount namespace.
 */
import { spawn } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DriverError } from '../errors.js'
import { pluginFailureFromOutput } from './plugin-failure.js'

/** Per-run limits. */
export interface ExecOptions {
  /** Deadline for this one plugin run; the plugin's process group is SIGKILLed when it passes. */
  readonly timeoutMs: number
  /** Cancellation; aborting kills the process group the same way. */
  readonly signal?: AbortSignal | undefined
}

/**
 * The seam between the CNI runtime and processes. Why: unit tests substitute a fake that records
 * what it received; integration tests and production use `ProcessExec`.
 */
export interface CniExec {
  /**
   * Run the plugin at `path`. Resolves with stdout on exit 0. Rejects with `PluginFailure` on a
   * non-zero exit, `DriverError('NDRA_CNI_TIMEOUT')` on deadline or cancellation.
   */
  execPlugin(
    path: string,
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<Uint8Array>
  /** Resolve a plugin type to a path; rejects with `NDRA_CNI_PLUGIN_NOT_FOUND`. */
  findInPath(type: string, dirs: readonly string[]): Promise<string>
  /**
   * Run a node command (`argv[0]` looked up in `env.PATH`) where plugins run, e.g. `iptables` for
   * clean-up a plugin could not do. Resolves with stdout on exit 0; rejects with
   * `DriverError('NDRA_CNI_PLUGIN')` otherwise, `NDRA_CNI_TIMEOUT` on deadline or cancellation.
   */
  runCommand(
    argv: readonly string[],
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<string>
}

/**
 * libcni `FindInPath`: the first `<dir>/<type>` that stats as a regular file (exec bit not checked).
 * Why: a shared helper so every `CniExec` resolves plugins identically.
 */
export async function findPluginInPath(type: string, dirs: readonly string[]): Promise<string> {
  if (type === '') throw new DriverError('NDRA_CNI_PLUGIN_NOT_FOUND', 'plugin name is required')
  if (type.includes('/')) {
    throw new DriverError('NDRA_CNI_PLUGIN_NOT_FOUND', `invalid plugin name: ${type}`)
  }
  if (dirs.length === 0) throw new DriverError('NDRA_CNI_PLUGIN_NOT_FOUND', 'no paths provided')
  for (const dir of dirs) {
    const candidate = join(dir, type)
    try {
      if ((await stat(candidate)).isFile()) return candidate
    } catch {
      // not in this directory; keep looking
    }
  }
  throw new DriverError(
    'NDRA_CNI_PLUGIN_NOT_FOUND',
    `failed to find plugin "${type}" in path [${dirs.join(' ')}]`,
  )
}

/** Options of the real executor. */
export interface ProcessExecOptions {
  /** Command prefix, e.g. `['nsenter', '--mount=/proc/1/ns/mnt', '--']`; the plugin path follows. */
  readonly wrapper?: readonly string[]
  /** libcni retries "text file busy" 6 times in all, 1 s apart; tests shorten the delay. */
  readonly textBusyAttempts?: number
  readonly textBusyRetryDelayMs?: number
  /** Receives a successful plugin's non-empty stderr (libcni copies it to the runtime's stderr). */
  readonly onStderr?: (pluginPath: string, text: string) => void
}

interface RunOutcome {
  stdout: Uint8Array
  stderr: Uint8Array
  exitCode: number | null
  exitSignal: string | null
  spawnError?: NodeJS.ErrnoException
  timedOut: boolean
  aborted: boolean
}

/** Runs plugins as child processes in their own process group. */
export class ProcessExec implements CniExec {
  readonly #wrapper: readonly string[]
  readonly #attempts: number
  readonly #retryDelayMs: number
  readonly #onStderr: ((pluginPath: string, text: string) => void) | undefined

  constructor(opts: ProcessExecOptions = {}) {
    this.#wrapper = opts.wrapper ?? []
    this.#attempts = Math.max(1, opts.textBusyAttempts ?? 6)
    this.#retryDelayMs = opts.textBusyRetryDelayMs ?? 1000
    this.#onStderr = opts.onStderr
  }

  findInPath(type: string, dirs: readonly string[]): Promise<string> {
    return findPluginInPath(type, dirs)
  }

  async runCommand(
    argv: readonly string[],
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<string> {
    const name = argv.join(' ')
    const r = await this.#runArgv(
      [...this.#wrapper, ...argv],
      new Uint8Array(),
      env,
      opts.timeoutMs,
      opts,
    )
    if (r.timedOut || r.aborted) {
      throw new DriverError(
        'NDRA_CNI_TIMEOUT',
        `${name} did not finish within ${opts.timeoutMs} ms`,
      )
    }
    if (r.spawnError || r.exitCode !== 0) {
      const why = r.spawnError?.message ?? Buffer.from(r.stderr).toString('utf8').trim()
      throw new DriverError('NDRA_CNI_PLUGIN', `${name} failed (exit ${r.exitCode ?? -1}): ${why}`)
    }
    return Buffer.from(r.stdout).toString('utf8')
  }

  async execPlugin(
    path: string,
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<Uint8Array> {
    const deadline = Date.now() + opts.timeoutMs
    for (let attempt = 1; ; attempt++) {
      const r = await this.#runOnce(path, stdin, env, Math.max(1, deadline - Date.now()), opts)
      if (r.timedOut) {
        throw new DriverError(
          'NDRA_CNI_TIMEOUT',
          `plugin ${path} did not finish within ${opts.timeoutMs} ms and was killed`,
        )
      }
      if (r.aborted) {
        throw new DriverError('NDRA_CNI_TIMEOUT', `plugin ${path} was cancelled and killed`, {
          cause: opts.signal?.reason,
        })
      }
      if (
        this.#textBusy(r) &&
        attempt < this.#attempts &&
        Date.now() + this.#retryDelayMs < deadline
      ) {
        await sleep(this.#retryDelayMs, undefined, { signal: opts.signal })
        continue
      }
      if (r.spawnError) {
        throw pluginFailureFromOutput(
          new Uint8Array(),
          new Uint8Array(),
          `fork/exec ${path}: ${r.spawnError.message}`,
        )
      }
      if (r.exitCode !== 0) {
        const exitText = r.exitSignal
          ? `signal: ${r.exitSignal}`
          : `exit status ${r.exitCode ?? -1}`
        throw pluginFailureFromOutput(r.stdout, r.stderr, exitText)
      }
      if (r.stderr.length > 0) this.#onStderr?.(path, Buffer.from(r.stderr).toString('utf8'))
      return r.stdout
    }
  }

  #textBusy(r: RunOutcome): boolean {
    if (r.spawnError) return r.spawnError.code === 'ETXTBSY'
    if (this.#wrapper.length === 0 || r.exitCode === 0) return false
    return /text file busy/i.test(Buffer.from(r.stderr).toString('utf8'))
  }

  #runOnce(
    path: string,
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    timeoutMs: number,
    opts: ExecOptions,
  ): Promise<RunOutcome> {
    return this.#runArgv([...this.#wrapper, path], stdin, env, timeoutMs, opts)
  }

  #runArgv(
    argv: readonly string[],
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    timeoutMs: number,
    opts: ExecOptions,
  ): Promise<RunOutcome> {
    const cmd = argv[0] ?? ''
    const args = argv.slice(1)
    return new Promise(resolve => {
      const out: Buffer[] = []
      const err: Buffer[] = []
      const outcome: RunOutcome = {
        stdout: new Uint8Array(),
        stderr: new Uint8Array(),
        exitCode: null,
        exitSignal: null,
        timedOut: false,
        aborted: false,
      }
      let done = false
      let exited = false
      const child = spawn(cmd, args, {
        env: { ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      })
      const finish = (): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        opts.signal?.removeEventListener('abort', onAbort)
        outcome.stdout = Buffer.concat(out)
        outcome.stderr = Buffer.concat(err)
        child.stdout.destroy()
        child.stderr.destroy()
        resolve(outcome)
      }
      const killGroup = (): void => {
        if (child.pid === undefined) return
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          child.kill('SIGKILL')
        }
        // A killed group may leave a pipe held by a process that left the group: do not wait for it.
        if (exited) finish()
      }
      const onAbort = (): void => {
        outcome.aborted = true
        killGroup()
      }
      const timer = setTimeout(() => {
        outcome.timedOut = true
        killGroup()
      }, timeoutMs)
      if (opts.signal?.aborted) queueMicrotask(onAbort)
      else opts.signal?.addEventListener('abort', onAbort, { once: true })
      child.stdout.on('data', (b: Buffer) => out.push(b))
      child.stderr.on('data', (b: Buffer) => err.push(b))
      child.stdin.on('error', () => {
        // The plugin may exit without reading stdin (EPIPE); its exit status tells what happened.
      })
      child.on('error', (e: NodeJS.ErrnoException) => {
        outcome.spawnError = e
        finish()
      })
      child.on('exit', (code, signal) => {
        exited = true
        outcome.exitCode = code
        outcome.exitSignal = signal
        if (outcome.timedOut || outcome.aborted) finish()
      })
      child.on('close', finish)
      child.stdin.end(Buffer.from(stdin))
    })
  }
}
