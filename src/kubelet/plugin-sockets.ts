/**
 * Where the kubelet plugin's two Unix sockets live, and how their files are handled: the names the
 * Go `kubeletplugin` helper uses (so operators and the kubelet see the usual layout), the
 * rolling-update variant with the pod UID in both names, removal of a stale socket before listening
 * (never of a file that is not a socket), and removal of our own socket at shutdown (only if it is
 * still the very socket we created).
 */
import { lstat, unlink } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { DriverError } from '../errors.js'

/** `sun_path` is 108 bytes on Linux, including the terminating NUL. */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107

/** Absolute paths of a plugin instance's sockets. */
export interface PluginSocketPaths {
  /** In the kubelet's plugin registry directory; the kubelet discovers the plugin through it. */
  readonly registrationSocket: string
  /** Serves DRAPlugin (+ health); sent to the kubelet as `PluginInfo.endpoint`. */
  readonly draSocket: string
  /** The plugin's own data directory, `<pluginsDir>/<driver>`. */
  readonly pluginDir: string
}

export interface PluginSocketOptions {
  readonly driverName: string
  /** Kubelet plugin registry directory, e.g. `/var/lib/kubelet/plugins_registry`. */
  readonly registrarDir: string
  /** Kubelet plugins directory, e.g. `/var/lib/kubelet/plugins`. */
  readonly pluginsDir: string
  /** Set for rolling updates (kubelet 1.33+): each instance then gets its own socket names. */
  readonly podUid?: string
}

/**
 * Socket paths for one plugin instance: `<registrarDir>/<driver>-reg.sock` and
 * `<pluginsDir>/<driver>/dra.sock`, or with a pod UID `<driver>-<podUID>-reg.sock` and
 * `dra-<podUID>.sock`. Throws NDRA_INVALID_CONFIG for relative directories, names with a path
 * separator, or paths too long for a Unix socket.
 */
export function pluginSocketPaths(opts: PluginSocketOptions): PluginSocketPaths {
  const problems: string[] = []
  for (const [key, dir] of [
    ['registrarDir', opts.registrarDir],
    ['pluginsDir', opts.pluginsDir],
  ] as const) {
    if (!isAbsolute(dir)) problems.push(`${key} must be an absolute path, got "${dir}"`)
  }
  if (!isPathComponent(opts.driverName)) {
    problems.push(`driver name "${opts.driverName}" cannot be used in a socket file name`)
  }
  if (opts.podUid !== undefined && !isPathComponent(opts.podUid)) {
    problems.push(`pod UID "${opts.podUid}" cannot be used in a socket file name`)
  }
  if (problems.length > 0) throw new DriverError('NDRA_INVALID_CONFIG', problems.join('; '))

  const pluginDir = join(opts.pluginsDir, opts.driverName)
  const paths: PluginSocketPaths =
    opts.podUid === undefined
      ? {
          registrationSocket: join(opts.registrarDir, `${opts.driverName}-reg.sock`),
          draSocket: join(pluginDir, 'dra.sock'),
          pluginDir,
        }
      : {
          registrationSocket: join(opts.registrarDir, `${opts.driverName}-${opts.podUid}-reg.sock`),
          draSocket: join(pluginDir, `dra-${opts.podUid}.sock`),
          pluginDir,
        }
  for (const p of [paths.registrationSocket, paths.draSocket]) {
    if (Buffer.byteLength(p) > MAX_UNIX_SOCKET_PATH_BYTES) {
      throw new DriverError(
        'NDRA_INVALID_CONFIG',
        `socket path ${p} is longer than ${MAX_UNIX_SOCKET_PATH_BYTES} bytes; use shorter directories`,
      )
    }
  }
  return paths
}

/** Identity of a socket file, to avoid deleting a socket some other process created later. */
export interface SocketIdentity {
  readonly dev: number
  readonly ino: number
}

/**
 * Removes a leftover socket at `path` before listening. Returns true if one was removed. A missing
 * file is fine; any other kind of file is NDRA_INVALID_CONFIG (we never delete what is not ours to
 * delete).
 */
export async function removeStaleSocket(path: string): Promise<boolean> {
  const st = await lstatOrUndefined(path)
  if (!st) return false
  if (!st.isSocket()) {
    throw new DriverError(
      'NDRA_INVALID_CONFIG',
      `${path} exists and is not a Unix socket; refusing to replace it`,
    )
  }
  await unlinkIfPresent(path)
  return true
}

/** The identity of the socket now at `path` (after we bound it). */
export async function socketIdentity(path: string): Promise<SocketIdentity> {
  const st = await lstat(path)
  if (!st.isSocket()) {
    throw new DriverError('NDRA_INTERNAL', `${path} is not a Unix socket after binding`)
  }
  return { dev: st.dev, ino: st.ino }
}

/**
 * Removes our own socket at shutdown, but only if `path` is still the socket we created. Returns
 * true if it removed the file.
 */
export async function removeOwnSocket(path: string, own: SocketIdentity): Promise<boolean> {
  const st = await lstatOrUndefined(path)
  if (!st?.isSocket() || st.dev !== own.dev || st.ino !== own.ino) return false
  await unlinkIfPresent(path)
  return true
}

function isPathComponent(s: string): boolean {
  return s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0')
}

async function lstatOrUndefined(
  path: string,
): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path)
  } catch (err: unknown) {
    if (isErrno(err, 'ENOENT')) return undefined
    throw err
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (err: unknown) {
    if (!isErrno(err, 'ENOENT')) throw err
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code
}
