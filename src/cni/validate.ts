/**
 * The attachment-parameter validators libcni runs before executing a plugin
 * (`pkg/utils.ValidateContainerID`, `ValidateNetworkName`, `ValidateInterfaceName`), returning the CNI
 * error code the spec assigns so callers can surface `{code, msg, details}` unchanged.
 */

/** A failed validation in CNI error terms (SPEC.md §5 codes). */
export interface CniValidationError {
  readonly code: number
  readonly msg: string
  readonly details: string
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** Container id: non-empty (code 3), alphanumeric first then `[A-Za-z0-9_.-]` (code 4). */
export function validateContainerId(id: string): CniValidationError | undefined {
  if (id === '') return { code: 3, msg: 'missing containerID', details: '' }
  if (!NAME_RE.test(id)) return { code: 4, msg: 'invalid characters in containerID', details: id }
  return undefined
}

/** Network name: same pattern as container ids; code 7 (invalid network config). */
export function validateNetworkName(name: string): CniValidationError | undefined {
  if (name === '') return { code: 7, msg: 'missing network name:', details: '' }
  if (!NAME_RE.test(name)) {
    return { code: 7, msg: 'invalid characters found in network name', details: name }
  }
  return undefined
}

/** Interface name: 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace; code 4. */
export function validateInterfaceName(ifName: string): CniValidationError | undefined {
  if (ifName === '') return { code: 4, msg: 'interface name is empty', details: '' }
  if (Buffer.byteLength(ifName, 'utf8') > 15) {
    return {
      code: 4,
      msg: 'interface name is too long',
      details: 'interface name should be less than 16 characters',
    }
  }
  if (ifName === '.' || ifName === '..') {
    return { code: 4, msg: 'interface name is . or ..', details: '' }
  }
  if (/[/:\s\u0085]/u.test(ifName)) {
    return { code: 4, msg: 'interface name contains / or : or whitespace characters', details: '' }
  }
  return undefined
}
