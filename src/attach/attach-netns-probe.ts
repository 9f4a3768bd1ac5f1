/**
 * Looks at a network-namespace path without entering it. The attacher needs three answers about a
 * path recorded earlier or read from a bundle: is it still a network namespace, which one (so a
 * reused `/proc/<pid>` path is not mistaken for the old namespace), and is it gone. A leftover
 * regular file at an old netns path (an unmounted bind target) must not be handed to CNI: plugins
 * fail DEL on it with `unknown FS magic` (fact sheet §1.11).
 */
import { stat, statfs } from 'node:fs/promises'

/** statfs(2) magic of nsfs, the filesystem of `/proc/<pid>/ns/*` and their bind mounts. */
export const NSFS_MAGIC = 0x6e736673

/** Answers "is this path a live network namespace, and which one". Injected for unit tests. */
export interface NetnsProbe {
  /**
   * Identity (`<dev>:<inode>`) of the namespace the path refers to, or `undefined` when the path
   * does not exist or is not a namespace (a regular file, a directory, a vanished pid).
   */
  identify(path: string): Promise<string | undefined>
}

/** The real probe: statfs for the nsfs magic, stat for the namespace inode. */
export class FsNetnsProbe implements NetnsProbe {
  async identify(path: string): Promise<string | undefined> {
    if (path === '') return undefined
    try {
      const fsInfo = await statfs(path)
      if (fsInfo.type !== NSFS_MAGIC) return undefined
      const st = await stat(path)
      return `${st.dev}:${st.ino}`
    } catch {
      // ENOENT, ESRCH (pid gone) or EACCES: in every case the path is unusable as a netns.
      return undefined
    }
  }
}
