/**
 * Crash-safe file replacement for the files other programs read while we write them (CDI specs
 * watched by the container runtime, the plugin state file): write a temp file in the same
 * directory, fsync it, rename it over the target, fsync the directory. A reader sees either the
 * old or the new content, never a torn file, and a crash leaves at most an ignored temp file.
 */
import { randomBytes } from 'node:crypto'
import type { BigIntStats } from 'node:fs'
import { open, rename, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Suffix of every temp file; chosen so CDI (`.json`/`.yaml` only) and our own readers skip it. */
export const ATOMIC_TEMP_SUFFIX = '.tmp'

/**
 * Temp-file name next to `path`: hidden, unique per call, never ending in `.json` or `.yaml`, so a
 * directory watcher that reacts to spec files ignores it until the rename.
 */
export function atomicTempPath(path: string): string {
  const rand = randomBytes(6).toString('hex')
  return join(dirname(path), `.${basename(path)}.${process.pid}.${rand}${ATOMIC_TEMP_SUFFIX}`)
}

/**
 * Replace `path` with `data` atomically and durably, with exactly `mode` (umask does not apply).
 * The temp file is removed on any failure, so no partial file is ever left behind. `onReplaced`,
 * when given, is called synchronously as soon as the rename has put the new file in place (before
 * the directory fsync that makes it durable) with the new file's stat (taken from the temp file:
 * a rename keeps inode, size and mtime), so a caller tracking the file's identity is never behind.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode: number; onReplaced?: (st: BigIntStats) => void },
): Promise<void> {
  const tmp = atomicTempPath(path)
  try {
    const fh = await open(tmp, 'wx', opts.mode)
    let st: BigIntStats
    try {
      await fh.writeFile(data)
      await fh.chmod(opts.mode)
      await fh.sync()
      st = await fh.stat({ bigint: true })
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    opts.onReplaced?.(st)
  } catch (err: unknown) {
    await rm(tmp, { force: true })
    throw err
  }
  await fsyncDir(dirname(path))
}

/** Remove `path` if present and make the removal durable; a missing file is success. */
export async function removeFileDurable(path: string): Promise<boolean> {
  try {
    await unlink(path)
  } catch (err: unknown) {
    if (isErrno(err, 'ENOENT')) return false
    throw err
  }
  await fsyncDir(dirname(path))
  return true
}

/**
 * fsync a directory so a rename or unlink in it survives a crash. Filesystems that cannot fsync a
 * directory (EINVAL) give no stronger guarantee to ask for, so that case is not an error.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } catch (err: unknown) {
    if (!isErrno(err, 'EINVAL')) throw err
  } finally {
    await fh.close()
  }
}

/** True when `err` is a Node system error with the given `code`. */
export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code
}
