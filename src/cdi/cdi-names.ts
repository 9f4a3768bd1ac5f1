/**
 * CDI name rules (CDI pkg/parser/parser.go and SPEC.md): vendor, class and device-name syntax and
 * fully-qualified ids `vendor/class=name`. Checked before anything is written, because a runtime
 * silently skips a spec file it cannot parse and the pod then fails with "unresolvable device".
 */
import { DriverError } from '../errors.js'

const VENDOR_OR_CLASS = /^[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$/
const DEVICE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.:-]*[A-Za-z0-9])?$/

/** SPEC.md limits (DNS subdomain vendor, label-sized class); the Go parser does not check them. */
const MAX_VENDOR_LENGTH = 253
const MAX_CLASS_LENGTH = 63

/** Which part of a CDI name a value is meant to be. */
export type CdiNamePart = 'vendor' | 'class' | 'device'

/** Why `value` is not a valid CDI `part`, or `undefined` when it is. */
export function cdiNameProblem(part: CdiNamePart, value: string): string | undefined {
  if (value === '') return `CDI ${part} name must not be empty`
  if (part === 'device') {
    return DEVICE_NAME.test(value)
      ? undefined
      : `invalid CDI device name "${value}": must start and end with a letter or digit and contain only letters, digits, '_', '-', '.', ':'`
  }
  const max = part === 'vendor' ? MAX_VENDOR_LENGTH : MAX_CLASS_LENGTH
  if (value.length > max) return `CDI ${part} name "${value}" is longer than ${max} characters`
  return VENDOR_OR_CLASS.test(value)
    ? undefined
    : `invalid CDI ${part} name "${value}": must start with a letter, end with a letter or digit and contain only letters, digits, '_', '-', '.'`
}

/** Throw `NDRA_CDI_INVALID` unless `value` is a valid CDI `part` name. */
export function assertCdiName(part: CdiNamePart, value: string): void {
  const problem = cdiNameProblem(part, value)
  if (problem !== undefined) throw new DriverError('NDRA_CDI_INVALID', problem)
}

/** A parsed fully-qualified CDI device id. */
export interface QualifiedCdiName {
  readonly vendor: string
  readonly class: string
  readonly name: string
}

/**
 * Split `vendor/class=name` the way the CDI parser does (first `=`, then first `/`) and check
 * every part; throws `NDRA_CDI_INVALID` on any violation.
 */
export function parseQualifiedCdiName(id: string): QualifiedCdiName {
  const eq = id.indexOf('=')
  const kind = eq < 0 ? '' : id.slice(0, eq)
  const slash = kind.indexOf('/')
  if (eq < 0 || slash < 0) {
    throw new DriverError(
      'NDRA_CDI_INVALID',
      `"${id}" is not a qualified CDI name (vendor/class=name)`,
    )
  }
  const parsed = {
    vendor: kind.slice(0, slash),
    class: kind.slice(slash + 1),
    name: id.slice(eq + 1),
  }
  assertCdiName('vendor', parsed.vendor)
  assertCdiName('class', parsed.class)
  assertCdiName('device', parsed.name)
  return parsed
}
