// Builds (once) the tiny local container image integration tests run with podman: FROM scratch,
// the static busybox from Debian's busybox-static at /usr/bin/busybox, relative applet symlinks
// and /bin -> usr/bin. No registry is reachable from test machines, so nothing is pulled.
import { execFile } from 'node:child_process'
import { access, chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Tag of the test image; bump the version when its content changes. */
export const TEST_IMAGE = 'localhost/ndra-test:1'

/** Where Debian's busybox-static puts the statically linked binary (/bin is usr/bin on Debian 12). */
const BUSYBOX = '/usr/bin/busybox'

/** Applets every test may rely on; `ip` is added when this busybox build has it. */
const APPLETS = ['sh', 'true', 'false', 'cat', 'echo', 'ls', 'sleep', 'mkdir', 'env', 'id']

async function imageExists(tag: string): Promise<boolean> {
  try {
    await run('podman', ['image', 'exists', tag])
    return true
  } catch {
    return false
  }
}

async function assertStaticBusybox(): Promise<void> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f=${Status}', 'busybox-static'])
    if (stdout.trim() === 'install ok installed') {
      await access(BUSYBOX)
      return
    }
  } catch {
    // fall through to the explanation below
  }
  throw new Error(
    `the test image needs the static busybox at ${BUSYBOX}: apt-get install -y busybox-static`,
  )
}

/** The applets to link: the fixed set plus `ip` if `busybox --list` has it. */
async function applets(): Promise<string[]> {
  const { stdout } = await run(BUSYBOX, ['--list'])
  const have = new Set(stdout.split('\n'))
  return [...APPLETS.filter(a => have.has(a)), ...(have.has('ip') ? ['ip'] : [])]
}

let pending: Promise<string> | undefined

/**
 * Make sure {@link TEST_IMAGE} exists locally and return its tag. Idempotent and cheap when the
 * image is already there; builds it with `podman build --network=none` otherwise.
 */
export function ensureTestImage(): Promise<string> {
  pending ??= build().finally(() => {
    pending = undefined
  })
  return pending
}

async function build(): Promise<string> {
  if (await imageExists(TEST_IMAGE)) return TEST_IMAGE
  await assertStaticBusybox()
  const ctx = await mkdtemp(join(tmpdir(), 'ndra-test-image-'))
  try {
    const bin = join(ctx, 'rootfs', 'usr', 'bin')
    await mkdir(bin, { recursive: true })
    await copyFile(BUSYBOX, join(bin, 'busybox'))
    await chmod(join(bin, 'busybox'), 0o755)
    for (const a of await applets()) await symlink('busybox', join(bin, a))
    await symlink('usr/bin', join(ctx, 'rootfs', 'bin'))
    await mkdir(join(ctx, 'rootfs', 'tmp'), { mode: 0o1777 })
    await writeFile(
      join(ctx, 'Containerfile'),
      'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/bin:/bin\nCMD ["/bin/sh"]\n',
    )
    await run('podman', ['build', '--network=none', '--quiet', '-t', TEST_IMAGE, ctx])
  } finally {
    await rm(ctx, { recursive: true, force: true })
  }
  return TEST_IMAGE
}
