/**
 * A plugin process that exited non-zero, described by the CNI error it printed. The rules for
 * turning stdout/stderr into `{code, msg, details}` are libcni's (`invoke/raw_exec.go pluginErr`);
 * the runtime later wraps a `PluginFailure` into a `CniPluginError` that names plugin and network.
 */
import { DriverError } from '../errors.js'

/** CNI code used when a plugin failed without a parsable numeric code (Go `ErrInternal`). */
export const CNI_CODE_INTERNAL = 999

/** A failed plugin run: the plugin's own CNI error plus what was captured. */
export class PluginFailure extends DriverError {
  readonly cniCode: number
  readonly msg: string
  readonly details: string

  constructor(init: { cniCode: number; msg: string; details?: string; cause?: unknown }) {
    const details = init.details ?? ''
    super('NDRA_CNI_PLUGIN', details ? `${init.msg}; ${details}` : init.msg, { cause: init.cause })
    this.name = 'PluginFailure'
    this.cniCode = init.cniCode
    this.msg = init.msg
    this.details = details
  }
}

/**
 * Build the failure from a plugin's output, as libcni does: parse stdout as a CNI error; when
 * stdout is empty, quote stderr; when both are empty, use the exit status text.
 * Why: users see this message in the claim status, so it must match what other CNI runtimes show.
 */
export function pluginFailureFromOutput(
  stdout: Uint8Array,
  stderr: Uint8Array,
  exitText: string,
): PluginFailure {
  const out = Buffer.from(stdout).toString('utf8')
  const err = Buffer.from(stderr).toString('utf8')
  if (stdout.length === 0) {
    if (stderr.length === 0) {
      return new PluginFailure({
        cniCode: CNI_CODE_INTERNAL,
        msg: `netplugin failed with no error message: ${exitText}`,
      })
    }
    return new PluginFailure({
      cniCode: CNI_CODE_INTERNAL,
      msg: `netplugin failed: ${JSON.stringify(err)}`,
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(out)
  } catch (e: unknown) {
    const why = e instanceof Error ? e.message : String(e)
    return new PluginFailure({
      cniCode: CNI_CODE_INTERNAL,
      msg: `netplugin failed but error parsing its diagnostic message ${JSON.stringify(out)}: ${why}`,
    })
  }
  const obj =
    typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {}
  const code = obj['code']
  const msg = obj['msg']
  const details = obj['details']
  return new PluginFailure({
    cniCode: typeof code === 'number' && Number.isInteger(code) ? code : CNI_CODE_INTERNAL,
    msg: typeof msg === 'string' ? msg : '',
    details: typeof details === 'string' ? details : '',
  })
}
