// Prometheus text exposition → histograms: parse the plugin's /metrics, add up the series of one
// histogram whose labels match, subtract a snapshot taken before a benchmark round from one taken
// after it, and estimate quantiles from the cumulative buckets the way PromQL's
// histogram_quantile does (linear inside the bucket). A leaf module (no imports).

/** One sample line: metric name, labels, value. */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** A histogram (or the sum of several series of one): cumulative bucket counts by upper bound. */
export interface Histogram {
  /** Upper bound (`le`, Infinity for +Inf) → cumulative count, ascending by bound. */
  readonly buckets: readonly (readonly [number, number])[]
  readonly sum: number
  readonly count: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/

function parseValue(v: string): number {
  if (v === '+Inf') return Infinity
  if (v === '-Inf') return -Infinity
  return Number(v)
}

function parseLabels(body: string, line: string): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 0
  while (i < body.length) {
    const eq = body.indexOf('=', i)
    if (eq < 0 || body[eq + 1] !== '"') throw new SyntaxError(`bad labels in: ${line}`)
    const key = body.slice(i, eq).trim()
    let j = eq + 2
    let value = ''
    for (; j < body.length && body[j] !== '"'; j++) {
      const c = body[j]
      if (c === '\\') {
        const n = body[++j]
        value += n === 'n' ? '\n' : (n ?? '')
      } else value += c ?? ''
    }
    if (j >= body.length) throw new SyntaxError(`unterminated label value in: ${line}`)
    out[key] = value
    i = j + 1
    while (body[i] === ',' || body[i] === ' ') i++
  }
  return out
}

/** Every sample of a text exposition (comments and blank lines skipped). */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (!m?.[1] || m[3] === undefined) throw new SyntaxError(`not a sample line: ${line}`)
    out.push({ name: m[1], labels: parseLabels(m[2] ?? '', line), value: parseValue(m[3]) })
  }
  return out
}

function matches(labels: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>) {
  return Object.entries(want).every(([k, v]) => labels[k] === v)
}

/**
 * The histogram `name` summed over every series whose labels include `match` (an empty match
 * sums all series). No matching series is an empty histogram (count 0), not an error: a stage
 * that never ran in a round has nothing to report.
 */
export function histogram(
  samples: readonly Sample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): Histogram {
  const buckets = new Map<number, number>()
  let sum = 0
  let count = 0
  for (const s of samples) {
    if (!matches(s.labels, match)) continue
    if (s.name === `${name}_bucket`) {
      const le = parseValue(s.labels.le ?? '')
      if (Number.isNaN(le)) throw new SyntaxError(`${name}_bucket without a numeric le`)
      buckets.set(le, (buckets.get(le) ?? 0) + s.value)
    } else if (s.name === `${name}_sum`) sum += s.value
    else if (s.name === `${name}_count`) count += s.value
  }
  return { buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]), sum, count }
}

/** What was observed between two snapshots of the same histogram (`after` − `before`). */
export function subtract(after: Histogram, before: Histogram): Histogram {
  const prior = new Map(before.buckets)
  return {
    buckets: after.buckets.map(([le, c]) => [le, c - (prior.get(le) ?? 0)] as const),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  }
}

/** Two histograms of the same bucket layout added up (e.g. one stage over several rounds). */
export function add(a: Histogram, b: Histogram): Histogram {
  const buckets = new Map(a.buckets)
  for (const [le, c] of b.buckets) buckets.set(le, (buckets.get(le) ?? 0) + c)
  return {
    buckets: [...buckets.entries()].sort((x, y) => x[0] - y[0]),
    sum: a.sum + b.sum,
    count: a.count + b.count,
  }
}

/** The histogram with no observations (the identity of {@link add}). */
export const EMPTY: Histogram = { buckets: [], sum: 0, count: 0 }

/** Mean observation, or null for an empty histogram. */
export function mean(h: Histogram): number | null {
  return h.count > 0 ? h.sum / h.count : null
}

/**
 * Estimated `q`-quantile (0 < q ≤ 1), interpolated linearly inside the bucket that holds it, the
 * first bucket starting at 0; in the +Inf bucket, the highest finite bound (as PromQL does).
 * Null for an empty histogram. Only as precise as the bucket layout.
 */
export function quantile(h: Histogram, q: number): number | null {
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantile must be in (0, 1]: ${String(q)}`)
  const total = h.buckets.at(-1)?.[1] ?? 0
  if (total <= 0) return null
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const [le, c] of h.buckets) {
    if (c >= rank) {
      if (le === Infinity) return prevLe
      return c === prevCount ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / (c - prevCount)
    }
    prevLe = le
    prevCount = c
  }
  return prevLe
}
