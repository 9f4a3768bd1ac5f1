// Where a CPU profile of the plugin spent its time (`node --cpu-prof` output, e.g. the one
// `npm run bench:pods -- --cpu-prof` collects): tables of time by area (our modules, npm packages,
// Node internals, GC, idle), the functions with the most self time, and our functions' inclusive
// time. The arithmetic is lib/cpu-profile.ts.
//
// usage: node scripts/bench/cpu-profile.mjs <file.cpuprofile> [own-prefix=/app/dist/src/] [top=15]
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { summarizeProfile } from './lib/cpu-profile.ts'
import { formatTable } from './lib/text-table.ts'

/** Print the summary of the profile at `file`; returns it (for JSON reports). */
export function printProfile(file, ownPrefix = '/app/dist/src/', top = 15) {
  const s = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), ownPrefix, top)
  const rows = list => list.map(r => [r.name, r.ms, r.pct])
  console.log(`\n== CPU profile ${file}: ${s.totalMs} ms sampled, ${s.busyMs} ms not idle ==`)
  console.log(formatTable(['area (self time)', 'ms', '%'], rows(s.byArea)))
  console.log()
  console.log(formatTable(['function (self time)', 'ms', '%'], rows(s.topSelf)))
  console.log()
  console.log(formatTable(['our function (inclusive)', 'ms', '%'], rows(s.topOwnInclusive)))
  return s
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, prefix, top] = process.argv.slice(2)
  if (!file) {
    console.error('usage: node scripts/bench/cpu-profile.mjs <file.cpuprofile> [own-prefix] [top]')
    process.exitCode = 2
  } else printProfile(file, prefix, top === undefined ? 15 : Number(top))
}
