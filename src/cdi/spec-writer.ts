/**
 * Writes and removes the per-claim CDI spec files that make the container runtime run our
 * `createRuntime` hook. One file per claim, named from the claim UID, so a repeated prepare
 * overwrites and an unprepare after a crash finds the same file; a device may also carry the bind
 * mount of its KEP-5304 metadata file (a typeless mount, so the computed cdiVersion is unchanged); every write is atomic because
 * runtimes re-read the directory at any moment.
 */
import { mkdir, readdir, stat } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { DriverError } from '../errors.js'
import { isErrno, removeFileDurable, writeFileAtomic } from '../fs/write-file-atomic.js'
import type { CdiContainerEdits, CdiDevice, CdiHook, CdiMount, CdiSpec } from './cdi-spec.js'
import { assertCdiName, cdiNameProblem } from './cdi-names.js'
import { minimumCdiVersion } from './minimum-cdi-version.js'

/** CDI class of every device this driver publishes (kind = `<driverName>/net`). */
export const CDI_CLASS = 'net'

/** argv0 given to the hook; runc passes `args` verbatim, so this is what the hook sees as `argv[0]`. */
export const HOOK_ARGV0 = 'network-dra-hook'

/** How much shorter than the runtime's hook timeout the hook's own deadline is. */
export const HOOK_DEADLINE_MARGIN_MS = 2000

/** Spec files are world-readable: runtimes may read them unprivileged, and they hold no secrets. */
const SPEC_FILE_MODE = 0o644
const SPEC_DIR_MODE = 0o755
const SPEC_EXTENSION = '.json'

/**
 * The hook's own deadline for one attach: shorter than the runtime's `timeout` so the hook can
 * still print a reason before runc SIGKILLs it.
 */
export function hookDeadlineMs(hookTimeoutSeconds: number): number {
  return hookTimeoutSeconds * 1000 - HOOK_DEADLINE_MARGIN_MS
}

/** Construction options; all paths are host paths as the runtime sees them. */
export interface CdiSpecWriterOptions {
  /** Directory the runtime reads dynamic specs from (`/var/run/cdi`). */
  readonly cdiRoot: string
  /** DRA driver name; becomes the CDI vendor. */
  readonly driverName: string
  /** Absolute host path of the hook executable. */
  readonly hookPath: string
  /** Absolute host path of the plugin's hook socket. */
  readonly hookSocket: string
  /** runc kills the hook after this many seconds; must leave room for the hook's own deadline. */
  readonly hookTimeoutSeconds: number
}

/** One allocated device of a claim and the request it satisfies. */
export interface CdiDeviceRequest {
  readonly device: string
  readonly request: string
  /** Bind mounts the device adds besides the hook (the KEP-5304 metadata file). */
  readonly mounts?: readonly CdiMount[]
}

/** Writer of per-claim CDI specs; options are validated eagerly so a bad flag fails at start-up. */
export class CdiSpecWriter {
  readonly #opts: CdiSpecWriterOptions
  readonly #filePrefix: string

  constructor(opts: CdiSpecWriterOptions) {
    assertCdiName('vendor', opts.driverName)
    if (!isAbsolute(opts.hookPath)) {
      throw new DriverError('NDRA_CDI_INVALID', `hook path "${opts.hookPath}" must be absolute`)
    }
    if (!isAbsolute(opts.hookSocket)) {
      throw new DriverError('NDRA_CDI_INVALID', `hook socket "${opts.hookSocket}" must be absolute`)
    }
    if (
      !Number.isInteger(opts.hookTimeoutSeconds) ||
      hookDeadlineMs(opts.hookTimeoutSeconds) <= 0
    ) {
      throw new DriverError(
        'NDRA_CDI_INVALID',
        `hook timeout ${opts.hookTimeoutSeconds}s must be an integer greater than ${HOOK_DEADLINE_MARGIN_MS / 1000} seconds`,
      )
    }
    this.#opts = { ...opts }
    this.#filePrefix = `${opts.driverName}-${CDI_CLASS}_`
  }

  /** CDI kind `<vendor>/<class>`, e.g. `network-dra.dev/net`. */
  kind(): string {
    return `${this.#opts.driverName}/${CDI_CLASS}`
  }

  /** Fully-qualified CDI id the kubelet passes to the runtime, e.g. `network-dra.dev/net=<uid>-attachment-3`. */
  deviceId(claimUid: string, device: string): string {
    return `${this.kind()}=${this.#deviceName(claimUid, device)}`
  }

  /** Path of the claim's spec file: `<cdiRoot>/<vendor>-<class>_<claimUid>.json`. */
  specPath(claimUid: string): string {
    assertCdiName('device', claimUid)
    return join(this.#opts.cdiRoot, `${this.#filePrefix}${claimUid}${SPEC_EXTENSION}`)
  }

  /**
   * The spec for a claim, deterministic for the same input (a repeated prepare writes the same
   * bytes). Throws `NDRA_CDI_INVALID` for an empty device list, duplicates or bad names.
   */
  buildSpec(claimUid: string, devices: readonly CdiDeviceRequest[]): CdiSpec {
    if (devices.length === 0) {
      throw new DriverError(
        'NDRA_CDI_INVALID',
        `claim ${claimUid}: a CDI spec needs at least one device`,
      )
    }
    const seen = new Set<string>()
    const cdiDevices: CdiDevice[] = devices.map(d => {
      const name = this.#deviceName(claimUid, d.device)
      if (seen.has(name)) {
        throw new DriverError(
          'NDRA_CDI_INVALID',
          `claim ${claimUid}: device "${d.device}" listed twice`,
        )
      }
      seen.add(name)
      if (d.request === '') {
        throw new DriverError(
          'NDRA_CDI_INVALID',
          `claim ${claimUid}: device "${d.device}" has no request name`,
        )
      }
      const hooks = [this.#hook(claimUid, d)]
      const edits: CdiContainerEdits =
        d.mounts !== undefined && d.mounts.length > 0
          ? { mounts: d.mounts.map(m => ({ ...m })), hooks }
          : { hooks }
      return { name, containerEdits: edits }
    })
    const content = { cdiVersion: '', kind: this.kind(), devices: cdiDevices }
    return { ...content, cdiVersion: minimumCdiVersion(content) }
  }

  /** The exact bytes written for a claim (pretty JSON, trailing newline). */
  render(claimUid: string, devices: readonly CdiDeviceRequest[]): string {
    return `${JSON.stringify(this.buildSpec(claimUid, devices), null, 2)}\n`
  }

  /**
   * Atomically (re)write the claim's spec and return the CDI ids in `devices` order. Creates the
   * CDI directory if missing; an existing spec of the claim is replaced whole.
   */
  async write(claimUid: string, devices: readonly CdiDeviceRequest[]): Promise<string[]> {
    const text = this.render(claimUid, devices)
    await mkdir(this.#opts.cdiRoot, { recursive: true, mode: SPEC_DIR_MODE })
    await writeFileAtomic(this.specPath(claimUid), text, { mode: SPEC_FILE_MODE })
    return devices.map(d => this.deviceId(claimUid, d.device))
  }

  /** Delete the claim's spec; idempotent (a missing file or directory is success). */
  async remove(claimUid: string): Promise<void> {
    await removeFileDurable(this.specPath(claimUid))
  }

  /** Whether the claim's spec file exists (recovery re-writes missing ones after a reboot). */
  async exists(claimUid: string): Promise<boolean> {
    try {
      return (await stat(this.specPath(claimUid))).isFile()
    } catch (err: unknown) {
      if (isErrno(err, 'ENOENT')) return false
      throw err
    }
  }

  /**
   * Claim UIDs that have a spec of our kind in the CDI directory, sorted; files of other kinds,
   * temp files and names that could not be ours are ignored. Used on start to find orphans.
   */
  async listClaimUids(): Promise<string[]> {
    let names: string[]
    try {
      names = await readdir(this.#opts.cdiRoot)
    } catch (err: unknown) {
      if (isErrno(err, 'ENOENT')) return []
      throw err
    }
    return names
      .filter(n => n.startsWith(this.#filePrefix) && n.endsWith(SPEC_EXTENSION))
      .map(n => n.slice(this.#filePrefix.length, -SPEC_EXTENSION.length))
      .filter(uid => cdiNameProblem('device', uid) === undefined)
      .sort()
  }

  /** CDI device name `<claimUid>-<device>`; both parts must be valid device names on their own. */
  #deviceName(claimUid: string, device: string): string {
    assertCdiName('device', claimUid)
    assertCdiName('device', device)
    return `${claimUid}-${device}`
  }

  /** The device's only edit: our createRuntime hook (never the CNI config in args). */
  #hook(claimUid: string, d: CdiDeviceRequest): CdiHook {
    const o = this.#opts
    return {
      hookName: 'createRuntime',
      path: o.hookPath,
      args: [
        HOOK_ARGV0,
        'attach',
        '--claim',
        claimUid,
        '--request',
        d.request,
        '--device',
        d.device,
        '--socket',
        o.hookSocket,
        '--timeout-ms',
        String(hookDeadlineMs(o.hookTimeoutSeconds)),
      ],
      timeout: o.hookTimeoutSeconds,
    }
  }
}
