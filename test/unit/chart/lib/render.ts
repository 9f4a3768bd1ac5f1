// Renders the chart with helm for the chart unit tests: `render(values, files)` runs `helm template`
// and returns the parsed objects (or helm's refusal), `one` picks the single object of a kind.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { PLATFORM } from '../../../lib/platform.js'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
export const chart = join(root, 'charts', 'network-dra')
export const helm = process.env.HELM ?? PLATFORM.helm

// Rendered manifests are untyped JSON; the assertions probe into them directly.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>

export interface RenderResult {
  readonly ok: boolean
  readonly objects: Obj[]
  readonly stderr: string
}

export function render(values: Obj = {}, files: string[] = []): RenderResult {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-chart-'))
  try {
    const valuesFile = join(dir, 'values.json')
    writeFileSync(valuesFile, JSON.stringify(values))
    const args = ['template', 'ndra', chart, '--namespace', 'network-dra', '--values', valuesFile]
    for (const f of files) args.push('--values', f)
    const res = spawnSync(helm, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    if (res.status !== 0) return { ok: false, objects: [], stderr: res.stderr }
    const objects = parseAllDocuments(res.stdout)
      .map(d => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null)
    return { ok: true, objects, stderr: res.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function one(objects: Obj[], kind: string, name?: string): Obj {
  const found = objects.filter(
    o => o.kind === kind && (name === undefined || o.metadata.name === name),
  )
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`)
  return found[0]!
}
