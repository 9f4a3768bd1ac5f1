/**
 * Removes the per-attachment masquerade chain of the `bridge` plugin (`ipMasq: true`) after DEL.
 * Why: bridge tears its chain down only while the pod's netns still exists (it reads the
 * addresses from the interface; containernetworking/plugins#810, unfixed through v1.9), but the
 * kubelet unprepares a claim after the pod sandbox and its netns are gone, so DEL would leave the
 * node's NAT rules for that pod behind. The chain name and comment are derived exactly as the
 * plugin derives them (`utils.FormatChainName`/`FormatComment`), so only that attachment's chain
 * and the POSTROUTING jumps to it are removed. Commands run through the `CniExec` seam, i.e. where
 * the plugins run (the node's iptables when chrooted into the node).
 */
import { createHash } from 'node:crypto'
import type { CniExec, ExecOptions } from './exec.js'
import type { NetworkConfigList } from './conf.js'

/** `CNI-` + the first 24 hex digits of sha512(name + id): the plugins' `FormatChainName`. */
export function ipMasqChainName(network: string, containerId: string): string {
  const hex = createHash('sha512')
    .update(network + containerId)
    .digest('hex')
  return `CNI-${hex}`.slice(0, 28)
}

/** True when some plugin of the list is `bridge` with `ipMasq: true`. */
export function usesBridgeIpMasq(list: NetworkConfigList): boolean {
  return list.plugins.some(p => p.type === 'bridge' && p.raw['ipMasq'] === true)
}

/** The node's PATH for the commands (the seam may override it with the node's own). */
const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }

/** The plugins' `FormatComment`: Go's %q of both values. */
export function ipMasqComment(network: string, containerId: string): string {
  return `name: ${JSON.stringify(network)} id: ${JSON.stringify(containerId)}`
}

/**
 * Deletes every nat POSTROUTING rule jumping to the attachment's chain, then the chain, for
 * iptables and ip6tables (a missing binary or chain is skipped). Rules are deleted by their full
 * spec (source, comment, target), never by position, so concurrent rule changes cannot shift a
 * deletion onto someone else's rule. Returns the number of jump rules removed. Idempotent: after
 * bridge's own teardown nothing is left and nothing happens.
 */
export async function removeIpMasqChain(
  exec: CniExec,
  network: string,
  containerId: string,
  opts: ExecOptions,
): Promise<number> {
  const chain = ipMasqChainName(network, containerId)
  const comment = ipMasqComment(network, containerId)
  let removed = 0
  for (const bin of ['iptables', 'ip6tables']) {
    const ipt = (...args: string[]) => exec.runCommand([bin, '-w', '-t', 'nat', ...args], ENV, opts)
    let rules: string
    try {
      rules = await ipt('-S', 'POSTROUTING')
    } catch {
      continue // no such binary or table on this node
    }
    for (const line of rules.split('\n')) {
      const f = line.trim().split(/\s+/)
      if (f.at(-1) !== chain || f.at(-2) !== '-j') continue
      const src = f[f.indexOf('-s') + 1]
      if (!f.includes('-s') || src === undefined) continue
      await ipt('-D', 'POSTROUTING', '-s', src, '-m', 'comment', '--comment', comment, '-j', chain)
      removed++
    }
    const exists = await ipt('-S', chain).then(
      () => true,
      () => false,
    )
    if (exists) {
      await ipt('-F', chain)
      await ipt('-X', chain)
    }
  }
  return removed
}
