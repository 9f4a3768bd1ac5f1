/**
 * Command-line parsing for network-dra-hook. The argv is written by the plugin into the CDI spec
 * (`attach --claim … --request … --device … --socket … --timeout-ms …`), so the parser is strict:
 * an unknown or missing flag means the spec and the hook binary disagree, and the hook must fail
 * closed with a message that says which.
 */

/** What the hook was asked to do. */
export type HookCommand =
  | { readonly kind: 'version' }
  | {
      readonly kind: 'attach'
      readonly claimUid: string
      readonly request: string
      readonly device: string
      readonly socketPath: string
      readonly timeoutMs: number
    }

/** Bad command line; the message names the offending argument. */
export class HookUsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HookUsageError'
  }
}

/** One-line usage, printed with a usage error. */
export const HOOK_USAGE =
  'usage: network-dra-hook attach --claim <uid> --request <name> --device <name> --socket <path> --timeout-ms <ms> | --version'

const ATTACH_FLAGS = ['claim', 'request', 'device', 'socket', 'timeout-ms'] as const
type AttachFlag = (typeof ATTACH_FLAGS)[number]

function isAttachFlag(name: string): name is AttachFlag {
  return (ATTACH_FLAGS as readonly string[]).includes(name)
}

/** Largest accepted deadline: the deadline header (proto/hook/README.md) carries at most 8 digits. */
export const MAX_TIMEOUT_MS = 99_999_999

/**
 * Parse the arguments after the executable (runc's argv[1..]). Accepts `--flag value` and
 * `--flag=value`; every attach flag is required exactly once.
 */
export function parseHookArgs(args: readonly string[]): HookCommand {
  if (args.length === 1 && (args[0] === '--version' || args[0] === 'version')) {
    return { kind: 'version' }
  }
  const [sub, ...rest] = args
  if (sub !== 'attach') {
    throw new HookUsageError(
      sub === undefined ? 'missing command' : `unknown command ${JSON.stringify(sub)}`,
    )
  }
  const values = new Map<AttachFlag, string>()
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? ''
    if (!arg.startsWith('--'))
      throw new HookUsageError(`unexpected argument ${JSON.stringify(arg)}`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (!isAttachFlag(name)) throw new HookUsageError(`unknown flag --${name}`)
    let value: string | undefined
    if (eq === -1) {
      value = rest[i + 1]
      i++
    } else {
      value = arg.slice(eq + 1)
    }
    if (value === undefined) throw new HookUsageError(`flag --${name} needs a value`)
    if (values.has(name)) throw new HookUsageError(`flag --${name} given twice`)
    if (value === '') throw new HookUsageError(`flag --${name} must not be empty`)
    values.set(name, value)
  }
  const missing = ATTACH_FLAGS.filter(f => !values.has(f))
  if (missing.length > 0) {
    throw new HookUsageError(`missing ${missing.map(f => `--${f}`).join(', ')}`)
  }
  const timeoutText = values.get('timeout-ms') ?? ''
  if (!/^[0-9]+$/.test(timeoutText)) {
    throw new HookUsageError(
      `--timeout-ms must be a whole number of milliseconds, got ${timeoutText}`,
    )
  }
  const timeoutMs = Number(timeoutText)
  if (timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new HookUsageError(`--timeout-ms must be between 1 and ${MAX_TIMEOUT_MS}`)
  }
  const socketPath = values.get('socket') ?? ''
  if (!socketPath.startsWith('/')) {
    throw new HookUsageError(`--socket must be an absolute path, got ${socketPath}`)
  }
  return {
    kind: 'attach',
    claimUid: values.get('claim') ?? '',
    request: values.get('request') ?? '',
    device: values.get('device') ?? '',
    socketPath,
    timeoutMs,
  }
}
