/**
 * Looks into a pod's network namespace for the device-health check: which interfaces it has and
 * their addresses. One `nsenter --net=<path> ip -j addr show` per namespace (about 6 ms; `ip -n`
 * only takes names under /run/netns, and runtimes also record `/proc/<pid>/ns/net` paths). Before
 * it, the path is checked to still be the namespace the attachment was made in, so a reused
 * `/proc/<pid>` path or a torn-down sandbox reads as "gone", never as "interface missing".
 */
import type { NetnsProbe } from '../attach/attach-netns-probe.js'
import { errorMessage } from '../errors.js'
import type { CommandRunner } from '../inventory/host-links.js'
import type { NetnsView, SeenInterface } from './device-health.js'

/** Reads one namespace; never throws (a failure is a `{kind: 'error'}` view). */
export interface NetnsInterfaceReader {
  read(path: string, expectedId: string | undefined): Promise<NetnsView>
}

/** Options of {@link NsenterInterfaceReader}. */
export interface NsenterInterfaceReaderOptions {
  readonly runner: CommandRunner
  readonly probe: NetnsProbe
  readonly nsenterPath?: string
  readonly ipPath?: string
}

interface IpAddrLink {
  ifname?: string
  operstate?: string
  addr_info?: { local?: string; prefixlen?: number }[]
}

/** The real reader: nsenter + `ip -j addr show`. */
export class NsenterInterfaceReader implements NetnsInterfaceReader {
  readonly #opts: NsenterInterfaceReaderOptions

  constructor(opts: NsenterInterfaceReaderOptions) {
    this.#opts = opts
  }

  async read(path: string, expectedId: string | undefined): Promise<NetnsView> {
    const id = await this.#opts.probe.identify(path)
    if (id === undefined || (expectedId !== undefined && id !== expectedId)) return { kind: 'gone' }
    let out: string
    try {
      out = await this.#opts.runner.run(this.#opts.nsenterPath ?? 'nsenter', [
        `--net=${path}`,
        this.#opts.ipPath ?? 'ip',
        '-j',
        'addr',
        'show',
      ])
    } catch (err: unknown) {
      // The namespace may have vanished between the identity check and nsenter.
      if ((await this.#opts.probe.identify(path)) === undefined) return { kind: 'gone' }
      return { kind: 'error', message: errorMessage(err) }
    }
    return parseIpAddr(out)
  }
}

/** `ip -j addr show` output → interface name → operstate and CIDR addresses. */
export function parseIpAddr(out: string): NetnsView {
  let links: unknown
  try {
    links = JSON.parse(out)
  } catch (err: unknown) {
    return { kind: 'error', message: `ip -j addr output is not JSON: ${errorMessage(err)}` }
  }
  if (!Array.isArray(links)) return { kind: 'error', message: 'ip -j addr output is not a list' }
  const interfaces = new Map<string, SeenInterface>()
  for (const l of links as IpAddrLink[]) {
    if (typeof l.ifname !== 'string') continue
    const addresses = (l.addr_info ?? [])
      .filter(a => a.local !== undefined && a.prefixlen !== undefined)
      .map(a => `${a.local ?? ''}/${String(a.prefixlen)}`)
    interfaces.set(l.ifname, { state: (l.operstate ?? 'unknown').toLowerCase(), addresses })
  }
  return { kind: 'seen', interfaces }
}
