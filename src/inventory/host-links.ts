/**
 * Host network interfaces that may be offered as `host-<name>` devices. Reads `ip -j -d addr show`
 * (links with their addresses and link kind) through an injected command runner, and sysfs
 * (`/sys/class/net/<if>/device`) for driver, PCI address and NUMA node.
 *
 * Which links are offered: only names matching the admin's filter regex (no filter, no host
 * devices), never `lo`, and never a veth whose peer lives in another network namespace (the
 * host side of a pod's interface, recognisable by `link_netnsid`). Everything else (physical
 * NICs, VLANs, bonds, veths whose both ends are on the host) is the filter's call.
 */
import { readFile, readlink } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { DriverError, errorMessage } from '../errors.js'

/** One host interface as published. */
export interface HostLink {
  readonly name: string
  readonly mac?: string
  readonly mtu?: number
  /** Kernel driver (`virtio_net`, `ixgbe`, …) when the link has a device. */
  readonly driver?: string
  readonly pciAddress?: string
  readonly numaNode?: number
  /** Operational state, lower-cased (`up`, `down`, `unknown`, `lowerlayerdown`, …). */
  readonly state: string
  /** Addresses in CIDR form, global scope only (link-local/host scope are not useful to select on). */
  readonly addresses: readonly string[]
}

/**
 * Whether a link can carry traffic: operstate `up`, or `unknown` (what virtual links without carrier
 * detection, e.g. dummy or tun, report while up). Down, lowerlayerdown, dormant, notpresent and
 * testing are not. The one rule device health and device taints share.
 */
export function linkIsUp(link: Pick<HostLink, 'state'>): boolean {
  return link.state === 'up' || link.state === 'unknown'
}

/** Runs a command and returns its stdout; throws on a non-zero exit. */
export interface CommandRunner {
  run(file: string, args: readonly string[]): Promise<string>
}

/** The sysfs reads the inventory needs (`readlink`, `readFile`); both throw when absent. */
export interface SysfsReader {
  readlink(path: string): Promise<string>
  readFile(path: string): Promise<string>
}

/** Real sysfs. */
export const nodeSysfs: SysfsReader = {
  readlink: p => readlink(p),
  readFile: p => readFile(p, 'utf8'),
}

/** Options of {@link HostLinkInventory}. */
export interface HostLinkInventoryOptions {
  readonly runner: CommandRunner
  readonly sysfs?: SysfsReader
  /** `/sys/class/net`, overridable for tests. */
  readonly sysClassNet?: string
  /** Names to offer (a name matching any of several expressions is offered); undefined offers none. */
  readonly nameFilter?: RegExp | readonly RegExp[] | undefined
  /** The `ip` binary. */
  readonly ipPath?: string
}

const PCI_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/

interface IpAddrInfo {
  family?: string
  local?: string
  prefixlen?: number
  scope?: string
}
interface IpLink {
  ifname?: string
  address?: string
  mtu?: number
  operstate?: string
  link_type?: string
  link_netnsid?: number
  linkinfo?: { info_kind?: string }
  addr_info?: IpAddrInfo[]
}

/** Lists the host links to publish. */
export class HostLinkInventory {
  readonly #opts: Required<Omit<HostLinkInventoryOptions, 'nameFilter'>> & {
    nameFilter: readonly RegExp[] | undefined
  }

  constructor(opts: HostLinkInventoryOptions) {
    this.#opts = {
      runner: opts.runner,
      sysfs: opts.sysfs ?? nodeSysfs,
      sysClassNet: opts.sysClassNet ?? '/sys/class/net',
      // A global/sticky regex would make test() stateful across links.
      nameFilter:
        opts.nameFilter === undefined
          ? undefined
          : (opts.nameFilter instanceof RegExp ? [opts.nameFilter] : opts.nameFilter).map(
              r => new RegExp(r.source, r.flags.replace(/[gy]/g, '')),
            ),
      ipPath: opts.ipPath ?? 'ip',
    }
  }

  /**
   * Whether a link of this name could be offered (its name passes the filter; `list` decides the
   * rest): a link event for any other name cannot change the inventory.
   */
  mayOffer(name: string): boolean {
    return this.#opts.nameFilter?.some(r => r.test(name)) ?? false
  }

  /** The links to offer, sorted by name (so slices are stable). */
  async list(): Promise<HostLink[]> {
    const filter = this.#opts.nameFilter
    if (filter === undefined) return []
    let out: string
    try {
      out = await this.#opts.runner.run(this.#opts.ipPath, ['-j', '-d', 'addr', 'show'])
    } catch (err: unknown) {
      throw new DriverError('NDRA_INTERNAL', `listing host links failed: ${errorMessage(err)}`, {
        cause: err,
      })
    }
    let links: IpLink[]
    try {
      links = JSON.parse(out) as IpLink[]
    } catch (err: unknown) {
      throw new DriverError('NDRA_INTERNAL', `ip -j addr output is not JSON: ${errorMessage(err)}`)
    }
    const chosen = links.filter(l => offered(l, filter))
    const result = await Promise.all(chosen.map(l => this.#describe(l)))
    return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async #describe(l: IpLink): Promise<HostLink> {
    const name = l.ifname ?? ''
    const dev = join(this.#opts.sysClassNet, name, 'device')
    const sysfs = this.#opts.sysfs
    const driver = await sysfs.readlink(join(dev, 'driver')).then(basename, () => undefined)
    const devTarget = await sysfs.readlink(dev).then(basename, () => undefined)
    const numaText = await sysfs.readFile(join(dev, 'numa_node')).catch(() => undefined)
    const numa = numaText === undefined ? undefined : Number.parseInt(numaText.trim(), 10)
    const addresses = (l.addr_info ?? [])
      .filter(a => (a.family === 'inet' || a.family === 'inet6') && a.scope === 'global')
      .filter(a => a.local !== undefined && a.prefixlen !== undefined)
      .map(a => `${a.local ?? ''}/${String(a.prefixlen)}`)
    return {
      name,
      ...(l.address !== undefined && l.link_type === 'ether' ? { mac: l.address } : {}),
      ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
      ...(driver !== undefined ? { driver } : {}),
      ...(devTarget !== undefined && PCI_RE.test(devTarget) ? { pciAddress: devTarget } : {}),
      ...(numa !== undefined && Number.isInteger(numa) && numa >= 0 ? { numaNode: numa } : {}),
      state: (l.operstate ?? 'unknown').toLowerCase(),
      addresses,
    }
  }
}

function offered(l: IpLink, filter: readonly RegExp[]): boolean {
  const name = l.ifname
  if (name === undefined || name === '' || name === 'lo' || l.link_type === 'loopback') return false
  if (l.linkinfo?.info_kind === 'veth' && l.link_netnsid !== undefined) return false
  return filter.some(r => r.test(name))
}
