/**
 * Whether another instance of this driver's plugin is alive on the node right now: during a
 * DaemonSet rolling update with maxSurge the old and the new plugin pod overlap, each with its own
 * registration socket `<driver>-<podUID>-reg.sock` (or the plain `<driver>-reg.sock`) in the
 * kubelet's registry directory. A socket that accepts a connection belongs to a live instance; a
 * leftover file of a killed one refuses it. Start-up work that is only safe alone (CNI GC over the
 * whole result cache) asks this first.
 */
import { connect } from 'node:net'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Registration socket names of `driverName`, any instance. */
export function isRegistrationSocketName(name: string, driverName: string): boolean {
  return (
    name === `${driverName}-reg.sock` ||
    (name.startsWith(`${driverName}-`) && name.endsWith('-reg.sock'))
  )
}

/** Resolves true when something accepts a connection on the Unix socket `path` within `timeoutMs`. */
export function socketAccepts(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise(resolve => {
    const sock = connect({ path })
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      sock.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => {
      done(false)
    }, timeoutMs)
    sock.once('connect', () => {
      done(true)
    })
    sock.once('error', () => {
      done(false)
    })
  })
}

/**
 * Registration sockets of other live instances of `driverName` in `registrarDir` (`ownSocket`
 * excluded). A missing directory means none.
 */
export async function livePeerInstances(opts: {
  readonly registrarDir: string
  readonly driverName: string
  readonly ownSocket: string
  readonly timeoutMs?: number
}): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(opts.registrarDir)
  } catch {
    return []
  }
  const candidates = names
    .filter(n => isRegistrationSocketName(n, opts.driverName))
    .map(n => join(opts.registrarDir, n))
    .filter(p => p !== opts.ownSocket)
  const live = await Promise.all(
    candidates.map(async p => ((await socketAccepts(p, opts.timeoutMs ?? 1_000)) ? p : undefined)),
  )
  return live.filter((p): p is string => p !== undefined)
}
