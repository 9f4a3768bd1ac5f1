/**
 * Shared host links (KEP-5075 consumable capacity): which host links the admin publishes as ONE
 * shareable device each, and with what capacity. The setting is a JSON list of
 * `{"pattern": "<regular expression of link names>", "capacity": <children>}`; the first rule whose
 * pattern matches a link's name gives its capacity. Each allocation of such a device consumes one
 * unit of the `children` capacity (one macvlan/ipvlan/vlan child interface on the link), so the
 * scheduler stops allocating it once `capacity` claims hold it.
 */

/** One admin rule: links whose name matches `pattern` are shared, with room for `capacity` children. */
export interface SharedLinkRule {
  readonly pattern: RegExp
  readonly capacity: number
}

/** Name of the consumable capacity, in the driver's domain (`device.capacity["<driver>"].children`). */
export const SHARED_LINK_CAPACITY = 'children'

/** Largest capacity a rule may give (the kernel allows far more macvlans; this bounds typos). */
export const MAX_SHARED_LINK_CAPACITY = 4096

/**
 * Parse the `--shared-host-links` value. Empty = no shared links. Returns every problem found (the
 * config reports them all at once) and the rules that were valid.
 */
export function parseSharedHostLinks(text: string): {
  readonly rules: readonly SharedLinkRule[]
  readonly problems: readonly string[]
} {
  if (text.trim() === '') return { rules: [], problems: [] }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return { rules: [], problems: [`"${text}" is not JSON (a list of {pattern, capacity})`] }
  }
  if (!Array.isArray(raw)) {
    return { rules: [], problems: ['must be a JSON list of {"pattern": ..., "capacity": ...}'] }
  }
  const rules: SharedLinkRule[] = []
  const problems: string[] = []
  raw.forEach((entry: unknown, i) => {
    const at = `[${i}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${at}: must be an object {"pattern": ..., "capacity": ...}`)
      return
    }
    const e = entry as Record<string, unknown>
    const unknownKeys = Object.keys(e).filter(k => k !== 'pattern' && k !== 'capacity')
    if (unknownKeys.length > 0) problems.push(`${at}: unknown keys ${unknownKeys.join(', ')}`)
    const { pattern, capacity } = e
    let re: RegExp | undefined
    if (typeof pattern !== 'string' || pattern === '') {
      problems.push(`${at}.pattern: must be a non-empty regular expression of link names`)
    } else {
      try {
        re = new RegExp(pattern)
      } catch {
        problems.push(`${at}.pattern: "${pattern}" is not a valid regular expression`)
      }
    }
    if (
      typeof capacity !== 'number' ||
      !Number.isInteger(capacity) ||
      capacity < 1 ||
      capacity > MAX_SHARED_LINK_CAPACITY
    ) {
      problems.push(
        `${at}.capacity: must be a whole number from 1 to ${MAX_SHARED_LINK_CAPACITY} (children per link)`,
      )
    } else if (re !== undefined) {
      rules.push({ pattern: re, capacity })
    }
  })
  return { rules, problems }
}

/** Capacity of the first rule matching the link name; undefined = the link is not shared. */
export function sharedCapacityOf(
  rules: readonly SharedLinkRule[],
  linkName: string,
): number | undefined {
  // Patterns come from parseSharedHostLinks: no global/sticky flag, so test() is stateless.
  return rules.find(r => r.pattern.test(linkName))?.capacity
}
