/**
 * JSON keys judged the way the CNI plugins will read them. Go's `encoding/json` matches object
 * keys to struct fields case-insensitively with Unicode simple folding (`ſ` U+017F reads as `s`,
 * the Kelvin sign U+212A as `k`), so a key the policy looks for may arrive in many spellings. This
 * module folds keys exactly as Go does (`goFoldKey`), and walks a claim's JSON iteratively (no
 * recursion, so no input can exhaust the stack) with depth, node and byte limits, reporting
 * forbidden keys, non-canonical spellings of the keys the policy relies on, and keys of one object
 * that fold to the same name (Go would let the last one win, in an order the checks never saw).
 */
import { GO_FOLD_RUNS } from './go-fold-table.js'
import { problem, type PolicyProblem } from './policy-rules.js'

let foldTable: Map<number, number> | undefined

function table(): Map<number, number> {
  if (foldTable !== undefined) return foldTable
  const m = new Map<number, number>()
  for (const run of GO_FOLD_RUNS.split(' ')) {
    const [start, end, stride, delta] = run.split(':')
    const s = parseInt(start ?? '', 16)
    const e = parseInt(end ?? '', 16)
    const st = Number(stride)
    const d = Number(delta)
    for (let r = s; r <= e; r += st) m.set(r, r + d)
  }
  foldTable = m
  return m
}

/**
 * The folded form of a key as Go's `encoding/json` compares it (`foldName`): ASCII letters upper
 * case, every other rune the smallest rune of its `unicode.SimpleFold` orbit (a lone surrogate,
 * which Go decodes as U+FFFD, as U+FFFD). Two keys match the
 * same struct field exactly when their folded forms are equal.
 */
export function goFoldKey(key: string): string {
  const t = table()
  let out = ''
  for (const ch of key) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp < 0x80) out += cp >= 0x61 && cp <= 0x7a ? String.fromCharCode(cp - 32) : ch
    // Go decodes a lone surrogate escape as U+FFFD.
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\uFFFD'
    else out += String.fromCodePoint(t.get(cp) ?? cp)
  }
  return out
}

/** Flags that change the node itself (routing, NAT, the host bridge); refused in claim networks
 * (network-rules.ts) and, like every key the policy reads, checked for their spelling here. */
export const HOST_FLAGS: readonly string[] = Object.freeze([
  'isGateway',
  'isDefaultGateway',
  'ipMasq',
  'ipMasqBackend',
  'forceAddress',
  'hairpinMode',
  'promiscMode',
])

/**
 * Keys the policy reads (plugin and IPAM fields that reach host resources, addresses, types,
 * names, host flags). Any other spelling that Go would read as one of them is refused.
 */
export const POLICY_KEYS: readonly string[] = Object.freeze([
  'cniVersion',
  'cniVersions',
  'name',
  'plugins',
  'disableCheck',
  'disableGC',
  'type',
  'ipam',
  'master',
  'device',
  'hwaddr',
  'pciBusID',
  'bridge',
  'vlanId',
  'linkInContainer',
  'mode',
  'mac',
  'ips',
  'ranges',
  'subnet',
  'rangeStart',
  'rangeEnd',
  'gateway',
  'addresses',
  'address',
  'routes',
  'dst',
  'gw',
  'sysctl',
  'capabilities',
  'args',
  'cni',
  ...HOST_FLAGS,
])

const CANONICAL = new Map(POLICY_KEYS.map(k => [goFoldKey(k), k]))

/** A key as a user can read it in a message: non-ASCII and control characters as \u escapes (four hex digits). */
export function showKey(key: string): string {
  let out = ''
  for (const ch of key) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp >= 0x20 && cp < 0x7f && ch !== '"' && ch !== '\\') out += ch
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`
    else out += `\\u{${cp.toString(16).toUpperCase()}}`
  }
  return `"${out}"`
}

/** Field path of `key` under `at` (`a.b`, or `a["odd key"]`). */
export function keyPath(at: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${at}.${key}` : `${at}[${showKey(key)}]`
}

/** Size limits of one claim's opaque parameters. */
export interface JsonLimits {
  readonly maxDepth: number
  readonly maxNodes: number
  readonly maxBytes: number
}

/**
 * The first limit `value` exceeds (nesting depth of objects/arrays, number of values, bytes of its
 * compact JSON), or undefined. Iterative; stops at the first excess.
 */
export function limitProblem(
  value: unknown,
  path: string,
  limits: JsonLimits,
): PolicyProblem | undefined {
  const stack: { v: unknown; depth: number; at: string }[] = [{ v: value, depth: 1, at: path }]
  let nodes = 0
  let bytes = 0
  while (stack.length > 0) {
    const { v, depth, at } = stack.pop() as { v: unknown; depth: number; at: string }
    nodes++
    if (nodes > limits.maxNodes) {
      return problem(
        'limits',
        path,
        `more than maxNodes ${limits.maxNodes} JSON values (policy.limits.maxNodes)`,
      )
    }
    if (typeof v === 'object' && v !== null) {
      if (depth > limits.maxDepth) {
        return problem(
          'limits',
          at,
          `nested deeper than maxDepth ${limits.maxDepth} levels (policy.limits.maxDepth)`,
        )
      }
      if (Array.isArray(v)) {
        bytes += 2 + Math.max(0, v.length - 1)
        for (let i = v.length - 1; i >= 0; i--) {
          stack.push({ v: v[i] as unknown, depth: depth + 1, at: `${at}[${i}]` })
        }
      } else {
        const entries = Object.entries(v as Record<string, unknown>)
        bytes += 2 + Math.max(0, entries.length - 1)
        for (let i = entries.length - 1; i >= 0; i--) {
          const [k, child] = entries[i] as [string, unknown]
          bytes += Buffer.byteLength(JSON.stringify(k)) + 1
          stack.push({ v: child, depth: depth + 1, at: keyPath(at, k) })
        }
      }
    } else {
      const text = JSON.stringify(v) as string | undefined
      bytes += text === undefined ? 0 : Buffer.byteLength(text)
    }
    if (bytes > limits.maxBytes) {
      return problem(
        'limits',
        path,
        `larger than maxBytes ${limits.maxBytes} bytes of JSON (policy.limits.maxBytes)`,
      )
    }
  }
  return undefined
}

/** A forbidden-key matcher over folded keys (`cni.dev/*` is a prefix). */
function forbiddenMatcher(forbidden: readonly string[]): (folded: string) => string | undefined {
  const exact = new Map<string, string>()
  const prefixes: [string, string][] = []
  for (const f of forbidden) {
    if (f.endsWith('*')) prefixes.push([goFoldKey(f.slice(0, -1)), f])
    else exact.set(goFoldKey(f), f)
  }
  return folded => exact.get(folded) ?? prefixes.find(([p]) => folded.startsWith(p))?.[1]
}

/**
 * Key problems at every depth of `value` (call only on values within the limits): forbidden keys
 * (after folding), non-canonical spellings of POLICY_KEYS, and keys of one object that fold alike.
 */
export function keyProblems(
  value: unknown,
  path: string,
  forbiddenKeys: readonly string[],
): PolicyProblem[] {
  const forbidden = forbiddenMatcher(forbiddenKeys)
  const out: PolicyProblem[] = []
  const stack: { v: unknown; at: string }[] = [{ v: value, at: path }]
  while (stack.length > 0) {
    const { v, at } = stack.pop() as { v: unknown; at: string }
    if (typeof v !== 'object' || v === null) continue
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i] as unknown, at: `${at}[${i}]` })
      continue
    }
    const entries = Object.entries(v as Record<string, unknown>)
    const seen = new Map<string, string>()
    for (const [k] of entries) {
      const folded = goFoldKey(k)
      const kp = keyPath(at, k)
      const first = seen.get(folded)
      if (first !== undefined) {
        out.push(
          problem(
            'duplicate-key',
            kp,
            `key ${showKey(k)} and key ${showKey(first)} are the same key to the plugins`,
          ),
        )
      } else {
        seen.set(folded, k)
      }
      const hit = forbidden(folded)
      if (hit !== undefined) {
        const as = k === hit ? '' : ` (read by the plugins as "${hit}")`
        out.push(problem('forbidden-key', kp, `key ${showKey(k)}${as} is forbidden`))
      }
      const canonical = CANONICAL.get(folded)
      if (canonical !== undefined && canonical !== k) {
        out.push(
          problem(
            'key-spelling',
            kp,
            `key ${showKey(k)} is read by the plugins as "${canonical}"; write it as "${canonical}"`,
          ),
        )
      }
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, child] = entries[i] as [string, unknown]
      stack.push({ v: child, at: keyPath(at, k) })
    }
  }
  return out
}
