/**
 * Validation of the OCI container state the hook forwards from runc's stdin (runtime-spec
 * runtime.md "State"). The hook passes the bytes through unparsed, so the plugin is where a
 * malformed state is caught; it is a protocol error (the runtime or the hook is broken), not a
 * user error, and is answered with HTTP 400 (proto/hook/README.md).
 */
import { isAbsolute } from 'node:path'
import { DriverError } from '../errors.js'

/** Container state as runc writes it on the hook's stdin (runtime-spec "State"). */
export interface OciState {
  ociVersion?: string
  id: string
  status?: string
  pid?: number
  bundle: string
  annotations?: Record<string, string>
}

function protocolError(message: string): DriverError {
  return new DriverError('NDRA_HOOK_PROTOCOL', `invalid OCI state from hook: ${message}`)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function optionalString(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw protocolError(`"${key}" must be a string`)
  return v
}

/**
 * Parse and check the state: `id` and `bundle` (absolute) are required; `pid` must be a positive
 * integer when present; `annotations` must map strings to strings. Unknown fields are ignored
 * because newer runtime-spec versions may add some. Throws DriverError('NDRA_HOOK_PROTOCOL').
 */
export function parseOciState(raw: Uint8Array | string): OciState {
  let text: string
  if (typeof raw === 'string') {
    text = raw
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw)
    } catch {
      throw protocolError('not UTF-8')
    }
  }
  if (text.trim() === '') throw protocolError('empty (nothing on the hook stdin?)')
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err: unknown) {
    throw protocolError(`not JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
  return checkOciState(doc)
}

/** Check an already parsed state (the hook embeds it in its JSON body); same rules as above. */
export function checkOciState(doc: unknown): OciState {
  if (!isRecord(doc)) throw protocolError('not a JSON object')
  const id = optionalString(doc, 'id')
  if (id === undefined || id === '') throw protocolError('"id" is required')
  const bundle = optionalString(doc, 'bundle')
  if (bundle === undefined || bundle === '') throw protocolError('"bundle" is required')
  if (!isAbsolute(bundle)) throw protocolError('"bundle" must be an absolute path')
  const ociVersion = optionalString(doc, 'ociVersion')
  const status = optionalString(doc, 'status')
  let pid: number | undefined
  if (doc.pid !== undefined) {
    if (typeof doc.pid !== 'number' || !Number.isSafeInteger(doc.pid) || doc.pid < 0) {
      throw protocolError('"pid" must be a non-negative integer')
    }
    pid = doc.pid === 0 ? undefined : doc.pid
  }
  let annotations: Record<string, string> | undefined
  if (doc.annotations !== undefined) {
    if (!isRecord(doc.annotations)) throw protocolError('"annotations" must be an object')
    annotations = {}
    for (const [k, v] of Object.entries(doc.annotations)) {
      if (typeof v !== 'string') throw protocolError(`annotation "${k}" must be a string`)
      annotations[k] = v
    }
  }
  return {
    id,
    bundle,
    ...(ociVersion !== undefined ? { ociVersion } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(pid !== undefined ? { pid } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  }
}
