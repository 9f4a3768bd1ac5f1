/**
 * A hand-written CniExec for unit tests of src/cni: records every plugin run (path, parsed stdin,
 * env) and answers from a per-test responder, so tests can assert exactly what libcni semantics
 * would have sent without starting processes.
 */
import { join } from 'node:path'
import { DriverError } from '../../src/errors.js'
import type { CniExec, ExecOptions } from '../../src/cni/exec.js'

/** One recorded plugin run. */
export interface FakeCall {
  readonly path: string
  readonly type: string
  readonly command: string
  readonly stdin: Record<string, unknown>
  readonly stdinText: string
  readonly env: Readonly<Record<string, string>>
  readonly timeoutMs: number
}

/** Decides a run's outcome: return stdout (object → JSON, string as is), or throw. */
export type FakeResponder = (call: FakeCall) => unknown

/** Fake executor; plugins "exist" for every type in `types`, living in `binDir`. */
export class CniFakeExec implements CniExec {
  readonly calls: FakeCall[] = []
  responder: FakeResponder

  constructor(
    private readonly types: readonly string[],
    responder: FakeResponder = () => ({}),
    private readonly binDir = '/fake/bin',
  ) {
    this.responder = responder
  }

  findInPath(type: string, dirs: readonly string[]): Promise<string> {
    if (this.types.includes(type) && dirs.includes(this.binDir)) {
      return Promise.resolve(join(this.binDir, type))
    }
    return Promise.reject(
      new DriverError(
        'NDRA_CNI_PLUGIN_NOT_FOUND',
        `failed to find plugin "${type}" in path [${dirs.join(' ')}]`,
      ),
    )
  }

  execPlugin(
    path: string,
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<Uint8Array> {
    const stdinText = Buffer.from(stdin).toString('utf8')
    const call: FakeCall = {
      path,
      type: path.slice(path.lastIndexOf('/') + 1),
      command: env['CNI_COMMAND'] ?? '',
      stdin: JSON.parse(stdinText) as Record<string, unknown>,
      stdinText,
      env,
      timeoutMs: opts.timeoutMs,
    }
    this.calls.push(call)
    try {
      const out = this.responder(call)
      const text = typeof out === 'string' ? out : JSON.stringify(out ?? {})
      return Promise.resolve(new TextEncoder().encode(text))
    } catch (err: unknown) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** Node commands run through `runCommand` (argv), in call order. */
  readonly commands: string[][] = []
  /** Answers `runCommand`: stdout, or throw. Default: empty output. */
  commandResponder: (argv: readonly string[]) => string = () => ''

  runCommand(argv: readonly string[]): Promise<string> {
    this.commands.push([...argv])
    try {
      return Promise.resolve(this.commandResponder(argv))
    } catch (err: unknown) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** Commands and types in call order, e.g. `ADD macvlan`. */
  get trace(): string[] {
    return this.calls.map(c => `${c.command} ${c.type}`)
  }
}
