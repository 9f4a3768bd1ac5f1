/**
 * What a podman + hook integration test sets up around its containers: the built hook executable,
 * a scratch directory, a veth pair whose first end is the CNI master, and the containers and
 * clean-ups the test registers. Everything is removed when the test ends — containers first, then
 * the clean-ups in reverse order, the master link and the directory — also when it fails.
 */
import { execFile } from 'node:child_process'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from './daemon.js'
import { createVethPair, deleteLink } from './netns.js'

const run = promisify(execFile)

/** The built single-executable hook (`npm run build`, run here when it is missing). */
export async function hookBinary(): Promise<string> {
  const fromEnv = process.env.NDRA_HOOK_BIN
  if (fromEnv) return fromEnv
  const bin = join(ROOT, 'dist/hook/network-dra-hook')
  await access(bin).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }))
  await access(bin)
  return bin
}

/** The scratch of one test; push to `containers` and `cleanups` as they are created. */
export interface PodmanScratch {
  readonly work: string
  readonly containers: string[]
  readonly cleanups: (() => Promise<unknown>)[]
}

/** Create the scratch directory (`prefix` in the temp dir) and the veth pair `master`/`peer`. */
export async function podmanScratch(
  t: { teardown(fn: () => Promise<void>): void },
  opts: { readonly prefix: string; readonly master: string; readonly peer: string },
): Promise<PodmanScratch> {
  const work = await mkdtemp(join(tmpdir(), opts.prefix))
  const scratch: PodmanScratch = { work, containers: [], cleanups: [] }
  t.teardown(async () => {
    for (const name of scratch.containers) {
      await run('podman', ['rm', '-f', '--ignore', name]).catch(() => undefined)
    }
    for (const c of scratch.cleanups.reverse()) await c().catch(() => undefined)
    await deleteLink(opts.master)
    await rm(work, { recursive: true, force: true })
  })
  await createVethPair(opts.master, opts.peer)
  return scratch
}
