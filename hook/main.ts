/**
 * Entry point of network-dra-hook, the executable runc starts as a createRuntime OCI hook (argv
 * from the CDI spec). It reads the container state from stdin, makes one Attach call to the
 * plugin's hook socket (retrying while the plugin restarts), and exits 0 when the interface is
 * attached. Otherwise it prints one line on stderr and exits 1: fail-closed, the container does
 * not start without its network. Nothing but node: built-ins is imported, to keep start-up small;
 * output goes through console, which under bun is native (node:fs or process.stderr would add
 * ≈ 6–9 MiB to the executable's peak RSS, measured). Node's console writes to pipes synchronously.
 */
import { HOOK_USAGE, HookUsageError, parseHookArgs } from './parse-hook-args.js'
import { attachWithRetry } from './attach-with-retry.js'
import { failureLine, oneLine } from './failure-line.js'
import { readStdin } from './read-stdin.js'

/** How long after the deadline the watchdog fires; still well inside runc's hook timeout. */
const WATCHDOG_MARGIN_MS = 100

declare const NETWORK_DRA_HOOK_VERSION: string | undefined

/** Version baked in at build time by scripts/build/hook.mjs; `dev` when run from source. */
const version = typeof NETWORK_DRA_HOOK_VERSION === 'string' ? NETWORK_DRA_HOOK_VERSION : 'dev'

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

async function main(argv: readonly string[]): Promise<number> {
  const started = Date.now()
  let cmd
  try {
    cmd = parseHookArgs(argv)
  } catch (err: unknown) {
    if (!(err instanceof HookUsageError)) throw err
    console.error(`network-dra: invalid hook arguments: ${oneLine(err.message)}; ${HOOK_USAGE}`)
    return 1
  }
  if (cmd.kind === 'version') {
    console.log(`network-dra-hook ${version}`)
    return 0
  }
  const target = cmd
  // Backstop for a stdin that never closes or a stuck call; the retry loop normally reports first
  // (with its last error) because it works to the same deadline.
  const watchdog = setTimeout(() => {
    console.error(failureLine(target, `timed out after ${target.timeoutMs} ms`))
    process.exit(1)
  }, cmd.timeoutMs + WATCHDOG_MARGIN_MS)
  let ociState: Uint8Array
  try {
    ociState = await readStdin()
  } catch (err: unknown) {
    console.error(failureLine(cmd, `cannot read the container state on stdin: ${errText(err)}`))
    return 1
  }
  const outcome = await attachWithRetry({
    socketPath: cmd.socketPath,
    claimUid: cmd.claimUid,
    request: cmd.request,
    device: cmd.device,
    ociState,
    deadline: started + cmd.timeoutMs,
  })
  clearTimeout(watchdog)
  if (outcome.ok) return 0
  console.error(failureLine(cmd, outcome.reason))
  return 1
}

main(process.argv.slice(2)).then(
  code => process.exit(code),
  (err: unknown) => {
    console.error(`network-dra: hook crashed: ${oneLine(errText(err))}`)
    process.exit(1)
  },
)
