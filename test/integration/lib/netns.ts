/**
 * Small helpers for integration tests that need network namespaces and links, all made by the test
 * itself (never the host's own links). Every helper shells out to iproute2 (`ip`), needs root, and
 * the delete helpers are idempotent so they can run in `t.teardown` even after a partial setup.
 *
 *   const ns = await createNetns(`ndra-t-${randomSuffix()}`)   // -> { name, path: /run/netns/<name> }
 *   await createVethPair('a0', 'b0', { netnsA: ns.name })        // a0 inside ns, b0 in the caller's ns
 *   await ipJson(ns.name, 'addr', 'show', 'dev', 'a0')
 *   await deleteNetns(ns.name)
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A network namespace created by `createNetns`. */
export interface Netns {
  readonly name: string
  /** Bind-mount path, usable as CNI_NETNS. */
  readonly path: string
}

/** Random lowercase hex suffix (default 6 chars) to keep names unique across parallel runs. */
export function randomSuffix(bytes = 3): string {
  return randomBytes(bytes).toString('hex')
}

/** Run `ip [-n netns] ...args`; returns stdout, throws with stderr on failure. */
export async function ip(netns: string | undefined, ...args: string[]): Promise<string> {
  const argv = netns ? ['-n', netns, ...args] : args
  try {
    const { stdout } = await run('ip', argv, { encoding: 'utf8' })
    return stdout
  } catch (err: unknown) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`ip ${argv.join(' ')} failed: ${e.stderr?.trim() ?? e.message}`, { cause: err })
  }
}

/** Run `ip -j [-n netns] ...args` and parse the JSON output. */
export async function ipJson(netns: string | undefined, ...args: string[]): Promise<unknown> {
  const out = await ip(netns, '-j', ...args)
  return out.trim() === '' ? [] : (JSON.parse(out) as unknown)
}

/** Create a named netns with `lo` up. */
export async function createNetns(name: string): Promise<Netns> {
  await ip(undefined, 'netns', 'add', name)
  await ip(name, 'link', 'set', 'lo', 'up')
  return { name, path: `/run/netns/${name}` }
}

/** Delete a named netns (links inside go with it); missing is fine. */
export async function deleteNetns(name: string): Promise<void> {
  try {
    await ip(undefined, 'netns', 'del', name)
  } catch {
    // already gone
  }
}

/** Create a veth pair `a`/`b`, optionally putting each end in a netns; both ends are set up. */
export async function createVethPair(
  a: string,
  b: string,
  opts: { netnsA?: string; netnsB?: string } = {},
): Promise<void> {
  await ip(undefined, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b)
  if (opts.netnsA) await ip(undefined, 'link', 'set', a, 'netns', opts.netnsA)
  if (opts.netnsB) await ip(undefined, 'link', 'set', b, 'netns', opts.netnsB)
  await ip(opts.netnsA, 'link', 'set', a, 'up')
  await ip(opts.netnsB, 'link', 'set', b, 'up')
}

/** Delete a link (in `netns` or the caller's ns); missing is fine. */
export async function deleteLink(name: string, netns?: string): Promise<void> {
  try {
    await ip(netns, 'link', 'del', name)
  } catch {
    // already gone
  }
}

/** Whether a link exists (in `netns` or the caller's ns). */
export async function linkExists(name: string, netns?: string): Promise<boolean> {
  try {
    await ip(netns, 'link', 'show', 'dev', name)
    return true
  } catch {
    return false
  }
}

/** The addresses of `ifName` in `netns` as CIDRs (`10.0.0.2/24`), link-local IPv6 excluded. */
export async function addresses(netns: string | undefined, ifName: string): Promise<string[]> {
  const info = (await ipJson(netns, 'addr', 'show', 'dev', ifName)) as {
    addr_info?: { local: string; prefixlen: number; scope: string }[]
  }[]
  return (info[0]?.addr_info ?? [])
    .filter(a => a.scope !== 'link')
    .map(a => `${a.local}/${a.prefixlen}`)
}

/** The MAC address of `ifName` in `netns`. */
export async function macAddress(netns: string | undefined, ifName: string): Promise<string> {
  const info = (await ipJson(netns, 'link', 'show', 'dev', ifName)) as { address?: string }[]
  return info[0]?.address ?? ''
}
