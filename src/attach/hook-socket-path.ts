/**
 * Making the hook socket's place safe before the server binds: the socket lets its caller run
 * CNI plugins as root, so its directory must be root-only (0700, owned by us) and never shared
 * with workloads. A stale socket from a previous run is removed; any other file there is refused
 * rather than deleted.
 */
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises'
import { dirname, isAbsolute } from 'node:path'
import { DriverError } from '../errors.js'

/** Linux `sun_path` holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code
}

/**
 * Create the socket directory 0700 (tightening an existing one we own), refuse a directory owned
 * by someone else, and remove a stale socket. Throws DriverError('NDRA_INVALID_CONFIG').
 */
export async function prepareHookSocketPath(socketPath: string, uid: number): Promise<void> {
  const bad = (why: string): DriverError =>
    new DriverError('NDRA_INVALID_CONFIG', `hook socket ${socketPath}: ${why}`)
  if (!isAbsolute(socketPath)) throw bad('must be an absolute path')
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw bad(`path longer than ${MAX_SOCKET_PATH_BYTES} bytes`)
  }
  const dir = dirname(socketPath)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await stat(dir)
  if (!st.isDirectory()) throw bad(`${dir} is not a directory`)
  if (st.uid !== uid) {
    throw bad(
      `directory ${dir} is owned by uid ${st.uid}, not by us (uid ${uid}); refusing to use it`,
    )
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700)
  try {
    const sock = await lstat(socketPath)
    if (!sock.isSocket()) throw bad('exists and is not a socket; refusing to remove it')
    await unlink(socketPath)
  } catch (err: unknown) {
    if (!isErrno(err, 'ENOENT')) throw err
  }
}
