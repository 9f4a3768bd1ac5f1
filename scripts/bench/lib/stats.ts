// Order statistics of benchmark samples: median, nearest-rank percentiles and the summary
// (n, P50/P90/P99, max, mean) the benchmark tables print. A leaf module (no imports) so the
// benchmark scripts can load it with Node's type stripping and the unit tests can check it.

/** Samples of one measurement, summarised; every value in the samples' unit. */
export interface Summary {
  readonly n: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('no samples')
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite sample: ${String(v)}`)
  }
  return [...values].sort((a, b) => a - b)
}

/** Median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = sorted(values)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

/**
 * Nearest-rank percentile: the smallest sample with at least `p`% of the samples at or below it
 * (always a measured value, never interpolated; P99 of fewer than 100 samples is the maximum).
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100]: ${String(p)}`)
  const s = sorted(values)
  return s[Math.ceil((p / 100) * s.length) - 1] ?? NaN
}

/** n, P50, P90, P99, max and mean of a non-empty list. */
export function summarize(values: readonly number[]): Summary {
  const s = sorted(values)
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  }
}

/** `x` rounded to `digits` decimals (default 1), for tables and JSON meant to be read. */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** `a / b` rounded to two decimals, or null when `b` is zero (no ratio). */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : round(a / b, 2)
}
