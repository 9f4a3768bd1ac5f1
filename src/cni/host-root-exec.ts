/**
 * Running the node's own CNI plugins inside the node's root filesystem (CNI_HOST_ROOT), the way
 * Multus' thick plugin does: the plugin pod mounts the node's `/` (read-only) at a directory such
 * as `/host`, and every plugin runs as `chroot <root> <plugin>`. Inside the chroot the plugin sees
 * the node's binaries and libraries (bridge's ipMasq and portmap exec the node's `iptables`), the
 * node's `/var/lib/cni` and `/run` (the chart mounts those writable over the read-only root), and
 * the same netns paths the runtime hands out — unlike nsenter into PID 1's mount namespace, it needs
 * nothing beyond the pod's own mounts. With root `/` plugins run directly (no chroot).
 */
import { join, relative, resolve, sep } from 'node:path'
import { DriverError } from '../errors.js'
import {
  ProcessExec,
  findPluginInPath,
  type CniExec,
  type ExecOptions,
  type ProcessExecOptions,
} from './exec.js'

/**
 * PATH a chrooted plugin gets: the node's standard directories. Why: the daemon's own PATH names
 * the image's directories, and plugins look up helpers (`iptables`, `ip6tables`) in PATH.
 */
export const HOST_PLUGIN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export interface HostRootExecOptions {
  /** Where the node's root filesystem is mounted in this container, e.g. `/host`. */
  readonly root: string
  /**
   * The chroot command and any prefix, followed by the root and the plugin path (coreutils
   * `chroot NEWROOT COMMAND`); default `['chroot']` from PATH. Tests prefix `ip netns exec <ns>`.
   */
  readonly chrootCommand?: readonly string[]
  /** Options of the underlying process runner (retries, stderr sink). */
  readonly process?: Omit<ProcessExecOptions, 'wrapper'>
}

/**
 * A `CniExec` whose plugin paths are paths *inside* the node's root: `findInPath` looks for
 * `<root><dir>/<type>` and returns `<dir>/<type>`, `execPlugin` runs `chroot <root> <path>` with
 * the node's PATH. Why a seam of its own: the runtime, cache and result handling stay unaware of
 * where plugins run.
 */
export class HostRootExec implements CniExec {
  readonly root: string
  readonly #inner: ProcessExec

  constructor(opts: HostRootExecOptions) {
    const root = resolve(opts.root)
    if (root === sep) {
      throw new DriverError('NDRA_INVALID_ARGUMENT', 'HostRootExec needs a root other than "/"')
    }
    this.root = root
    const chroot = opts.chrootCommand ?? ['chroot']
    this.#inner = new ProcessExec({ ...opts.process, wrapper: [...chroot, root] })
  }

  async findInPath(type: string, dirs: readonly string[]): Promise<string> {
    const found = await findPluginInPath(
      type,
      dirs.map(d => join(this.root, d)),
    )
    return `${sep}${relative(this.root, found)}`
  }

  execPlugin(
    path: string,
    stdin: Uint8Array,
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<Uint8Array> {
    return this.#inner.execPlugin(path, stdin, { ...env, PATH: HOST_PLUGIN_PATH }, opts)
  }

  runCommand(
    argv: readonly string[],
    env: Readonly<Record<string, string>>,
    opts: ExecOptions,
  ): Promise<string> {
    return this.#inner.runCommand(argv, { ...env, PATH: HOST_PLUGIN_PATH }, opts)
  }
}

/**
 * The executor for a configured host root: `/` = plugins run directly from this filesystem
 * (`ProcessExec`), anything else = chrooted into it (`HostRootExec`).
 */
export function cniExecForHostRoot(
  hostRoot: string,
  process: Omit<ProcessExecOptions, 'wrapper'> = {},
): CniExec {
  if (resolve(hostRoot) === sep) return new ProcessExec(process)
  return new HostRootExec({ root: hostRoot, process })
}
