// Fixed-width text tables for the benchmark output: a header, a rule and left-aligned columns
// two spaces apart. A leaf module (no imports) shared by every benchmark script.

/** One cell: numbers and null (printed as "-") are formatted here, strings kept as they are. */
export type Cell = string | number | null

function text(c: Cell): string {
  return c === null ? '-' : String(c)
}

/** Render `rows` under `head`; every row must have one cell per header column. */
export function formatTable(head: readonly string[], rows: readonly (readonly Cell[])[]): string {
  for (const [i, r] of rows.entries()) {
    if (r.length !== head.length) {
      throw new RangeError(`row ${i} has ${r.length} cells, the header ${head.length}`)
    }
  }
  const cells = rows.map(r => r.map(text))
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map(r => (r[i] ?? '').length)))
  const fmt = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [fmt(head), fmt(widths.map(w => '-'.repeat(w))), ...cells.map(fmt)].join('\n')
}
