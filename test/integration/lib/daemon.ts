/**
 * Helpers for integration tests that run the real daemon (dist/src/main.js) against the loopback
 * control plane: build the daemon and the hook when their sources are newer, find the control
 * plane's kubeconfig, pick a free port, and poll for a condition.
 */
import { execFile, execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { errorMessage } from '../../../src/errors.js'

const run = promisify(execFile)

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
/** The shipped daemon entrypoint. */
export const MAIN = join(ROOT, 'dist', 'src', 'main.js')
/** The shipped hook executable. */
export const HOOK = join(ROOT, 'dist', 'hook', 'network-dra-hook')
/** Env var scripts/integration.sh sets to the control plane's admin kubeconfig. */
export const KUBECONFIG_ENV = 'NDRA_CP_KUBECONFIG'

function newestMtime(dir: string, ext: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) {
      newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs)
    }
  }
  return newest
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/** Build the daemon and the hook when their sources are newer than the build output. */
export function ensureBuilt(): void {
  if (mtime(MAIN) < newestMtime(join(ROOT, 'src'), '.ts')) {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      { cwd: ROOT, stdio: 'inherit' },
    )
  }
  if (mtime(HOOK) < newestMtime(join(ROOT, 'hook'), '.ts')) {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build', 'hook.mjs')], {
      cwd: ROOT,
      stdio: 'inherit',
    })
  }
}

/** The control plane's admin kubeconfig (from the env, or a running control plane), if any. */
export async function kubeconfigPath(): Promise<string | undefined> {
  const fromEnv = process.env[KUBECONFIG_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  try {
    const { stdout } = await run('bash', [
      join(ROOT, 'scripts/cluster/control-plane.sh'),
      'kubeconfig',
    ])
    return stdout.trim()
  } catch {
    return undefined
  }
}

/**
 * The control plane's admin kubeconfig: the one scripts/test/integration.sh started (env), a running
 * one, or one started here for this test file and stopped when `t` ends.
 */
export async function controlPlaneKubeconfig(t: {
  teardown(fn: () => Promise<void>): void
}): Promise<string> {
  const existing = await kubeconfigPath()
  if (existing !== undefined) return existing
  const script = join(ROOT, 'scripts/cluster/control-plane.sh')
  const { stdout } = await run('bash', [script, 'up'], { timeout: 180_000 })
  t.teardown(async () => {
    await run('bash', [script, 'down'])
  })
  return stdout.trim().split('\n').at(-1) ?? ''
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      s.close(() => {
        resolve(port)
      })
    })
  })
}

/** Poll `fn` every 200 ms until it returns a value; throws (with the last error) after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err: unknown) {
      last = err
    }
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${last === undefined ? '' : `: ${errorMessage(last)}`}`,
      )
    }
    await new Promise(r => setTimeout(r, 200))
  }
}

/** GET `path` from the daemon's HTTP server on 127.0.0.1. */
export async function httpGet(
  port: number,
  path: string,
): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, body: await res.text() }
}
