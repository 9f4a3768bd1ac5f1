// Where a V8 CPU profile (`node --cpu-prof`, .cpuprofile JSON) spent its time: self time per
// function, per area (our modules by file, npm packages by name, Node internals, GC, idle) and
// inclusive time of our own functions. Sample i is charged timeDeltas[i + 1] (the time until the
// next sample), the last one nothing. A leaf module (no imports).

/** The parts of a .cpuprofile document this module reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number
    readonly callFrame: {
      readonly functionName: string
      readonly url: string
      readonly lineNumber: number
    }
    readonly children?: readonly number[]
  }[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

/** One line of a ranking: a name and milliseconds, with the share of all sampled time. */
export interface Ranked {
  readonly name: string
  readonly ms: number
  readonly pct: number
}

export interface ProfileSummary {
  /** All sampled time, idle included. */
  readonly totalMs: number
  /** Sampled time minus "(idle)": what the process actually ran. */
  readonly busyMs: number
  readonly byArea: readonly Ranked[]
  readonly topSelf: readonly Ranked[]
  /** Inclusive time (self + callees) of functions in `ownPrefix` files. */
  readonly topOwnInclusive: readonly Ranked[]
}

/**
 * The area a frame belongs to: "(idle)", "(garbage collector)", "(program)" as V8 names them;
 * "npm:<package>" under node_modules; "node:<module>" for Node's own JS; "ours:<path>" for files
 * under `ownPrefix`; "(native)" for frames without a script (builtins, C++).
 */
export function area(url: string, functionName: string, ownPrefix: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm?.[1]) return `npm:${nm[1]}`
  if (url.startsWith('node:'))
    return `node:${
      url
        .slice(5)
        .replace(/^internal\//, '')
        .split('/')[0] ?? ''
    }`
  const path = url.replace(/^file:\/\//, '')
  if (path.startsWith(ownPrefix)) return `ours:${path.slice(ownPrefix.length)}`
  return path
}

function ranked(m: ReadonlyMap<string, number>, totalUs: number, top: number): Ranked[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      pct: totalUs > 0 ? Math.round((1000 * us) / totalUs) / 10 : 0,
    }))
}

/** Summarise `profile`; `ownPrefix` is the path our compiled sources live under (e.g. /app/dist/src/). */
export function summarizeProfile(profile: CpuProfile, ownPrefix: string, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<number, number>()
  let totalUs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    const dt = profile.timeDeltas[i + 1] ?? 0
    if (id === undefined || dt <= 0) continue
    self.set(id, (self.get(id) ?? 0) + dt)
    totalUs += dt
  }
  const label = (id: number): { fn: string; area: string } => {
    const n = byId.get(id)
    if (!n) throw new RangeError(`sample of unknown node ${id}`)
    const f = n.callFrame
    const a = area(f.url, f.functionName, ownPrefix)
    const where = f.url === '' ? '' : ` ${a}:${f.lineNumber + 1}`
    return { fn: `${f.functionName || '(anonymous)'}${where}`, area: a }
  }
  const byArea = new Map<string, number>()
  const bySelf = new Map<string, number>()
  const ownIncl = new Map<string, number>()
  let idleUs = 0
  for (const [id, us] of self) {
    const l = label(id)
    if (l.area === '(idle)') idleUs += us
    byArea.set(l.area, (byArea.get(l.area) ?? 0) + us)
    bySelf.set(l.fn, (bySelf.get(l.fn) ?? 0) + us)
    // Charge every distinct own function on the stack once (recursion counted once).
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const c = label(cur)
      if (c.area.startsWith('ours:') && !seen.has(c.fn)) {
        seen.add(c.fn)
        ownIncl.set(c.fn, (ownIncl.get(c.fn) ?? 0) + us)
      }
    }
  }
  return {
    totalMs: Math.round(totalUs / 100) / 10,
    busyMs: Math.round((totalUs - idleUs) / 100) / 10,
    byArea: ranked(byArea, totalUs, top),
    topSelf: ranked(bySelf, totalUs, top),
    topOwnInclusive: ranked(ownIncl, totalUs, top),
  }
}
