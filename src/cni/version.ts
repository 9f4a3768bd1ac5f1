/**
 * CNI spec version strings: parsing, ordering and the set of versions this runtime implements.
 * libcni compares versions numerically (`pkg/version.GreaterThan`), never as strings.
 */
import { DriverError } from '../errors.js'

/** Highest spec version this runtime implements (libcni `version.Current()` since cni v1.2.0). */
export const CURRENT_CNI_VERSION = '1.1.0'

/** Every spec version whose result format we can parse and convert. */
export const KNOWN_CNI_VERSIONS: readonly string[] = [
  '0.1.0',
  '0.2.0',
  '0.3.0',
  '0.3.1',
  '0.4.0',
  '1.0.0',
  '1.1.0',
]

/**
 * Parse `major[.minor[.micro]]` like libcni's `version.ParseVersion`; throws `NDRA_CNI_CONFIG`.
 * Why: an unparsable version must fail early with a message naming the bad value.
 */
export function parseCniVersion(v: string): readonly [number, number, number] {
  const parts = v.split('.')
  if (v === '' || parts.length > 3 || parts.some(p => !/^\d+$/.test(p))) {
    throw new DriverError('NDRA_CNI_CONFIG', `invalid CNI version "${v}"`)
  }
  const n = parts.map(p => Number.parseInt(p, 10))
  return [n[0] ?? 0, n[1] ?? 0, n[2] ?? 0]
}

/** Numeric comparison of two CNI versions: negative, zero or positive. Throws on invalid input. */
export function compareCniVersions(a: string, b: string): number {
  const x = parseCniVersion(a)
  const y = parseCniVersion(b)
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/** `a >= b` numerically; the gate libcni uses for CHECK/DEL prevResult (0.4.0) and GC/STATUS (1.1.0). */
export function versionAtLeast(a: string, b: string): boolean {
  return compareCniVersions(a, b) >= 0
}
