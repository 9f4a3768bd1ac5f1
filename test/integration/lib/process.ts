/**
 * Run a command to completion for an integration test: stdin fed from a string, exit code and
 * output returned, never a throw for a non-zero exit (a test asserts on the code and the message).
 */
import { execFile } from 'node:child_process'
import { ROOT } from './daemon.js'

/** A finished command. */
export interface ProcessRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Run `cmd` in the repository root with `stdin`; rejects only when it cannot be started. */
export function runProcess(
  cmd: string,
  args: readonly string[],
  stdin?: string,
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        if (err !== null && code === -1) {
          reject(new Error(`${cmd}: ${err.message}`, { cause: err }))
          return
        }
        resolve({ code, stdout, stderr })
      },
    )
    // A command that exits before reading all of stdin makes the write fail with EPIPE; its exit
    // code and stderr (asserted by the caller) say what happened, so that is not a crash here.
    child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE')
        reject(new Error(`${cmd}: writing stdin: ${err.message}`, { cause: err }))
    })
    child.stdin?.end(stdin ?? '')
  })
}
