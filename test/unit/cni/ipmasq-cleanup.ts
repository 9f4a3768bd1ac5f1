// Invariant: after DEL of a list with bridge `ipMasq: true`, the runtime removes that attachment's
// masquerade chain exactly as the bridge plugin names it (chain and comment derived like
// FormatChainName/FormatComment; the vector below is a chain the real bridge 1.1.1 created) —
// every POSTROUTING jump to it by full spec, then the chain, for iptables and ip6tables, skipping a
// missing binary or chain — and does nothing for lists without ipMasq.
import t from 'tap'
import { parseConfList } from '../../../src/cni/conf.js'
import {
  ipMasqChainName,
  ipMasqComment,
  removeIpMasqChain,
  usesBridgeIpMasq,
} from '../../../src/cni/ipmasq-cleanup.js'
import { CniRuntime } from '../../../src/cni/runtime.js'
import { DriverError } from '../../../src/errors.js'
import { CniFakeExec } from '../../fakes/cni-fake-exec.js'

const ID = '53333af118bec76ba377ddac14bf225d1264e8059f14da2ca8ed7ee88b9fed1a'
const CHAIN = 'CNI-bbbfd7aeb685ee8615dc8427'

t.test('names match the bridge plugin', async t => {
  t.equal(ipMasqChainName('e2e-masq', ID), CHAIN, 'chain seen on a node after a real ADD')
  t.equal(ipMasqComment('e2e-masq', ID), `name: "e2e-masq" id: "${ID}"`)
})

const listing = [
  '-P POSTROUTING ACCEPT',
  '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  `-A POSTROUTING -s 10.99.0.2/32 -m comment --comment "name: \\"e2e-masq\\" id: \\"${ID}\\"" -j ${CHAIN}`,
  `-A POSTROUTING -s 10.99.0.9/32 -m comment --comment "other" -j CNI-000000000000000000000000`,
].join('\n')

t.test('removes the jump by full spec, then the chain; skips what is missing', async t => {
  const cases: { name: string; ip6: 'missing' | 'empty'; chainExists: boolean; want: string[] }[] =
    [
      {
        name: 'iptables has the rule and chain, no ip6tables',
        ip6: 'missing',
        chainExists: true,
        want: [
          'iptables -w -t nat -S POSTROUTING',
          `iptables -w -t nat -D POSTROUTING -s 10.99.0.2/32 -m comment --comment name: "e2e-masq" id: "${ID}" -j ${CHAIN}`,
          `iptables -w -t nat -S ${CHAIN}`,
          `iptables -w -t nat -F ${CHAIN}`,
          `iptables -w -t nat -X ${CHAIN}`,
          'ip6tables -w -t nat -S POSTROUTING',
        ],
      },
      {
        name: 'already torn down by bridge: only looks',
        ip6: 'empty',
        chainExists: false,
        want: [
          'iptables -w -t nat -S POSTROUTING',
          `iptables -w -t nat -S ${CHAIN}`,
          'ip6tables -w -t nat -S POSTROUTING',
          `ip6tables -w -t nat -S ${CHAIN}`,
        ],
      },
    ]
  for (const c of cases) {
    const exec = new CniFakeExec([])
    exec.commandResponder = argv => {
      const [bin, , , , op, target] = argv
      if (bin === 'ip6tables' && c.ip6 === 'missing') throw new DriverError('NDRA_CNI_PLUGIN', 'no')
      if (op === '-S' && target === 'POSTROUTING')
        return bin === 'iptables' && c.chainExists ? listing : ''
      if (op === '-S' && !c.chainExists) throw new DriverError('NDRA_CNI_PLUGIN', 'No chain')
      return ''
    }
    const n = await removeIpMasqChain(exec, 'e2e-masq', ID, { timeoutMs: 1000 })
    t.same(
      exec.commands.map(a => a.join(' ')),
      c.want,
      c.name,
    )
    t.equal(n, c.chainExists ? 1 : 0, `${c.name}: jump rules removed`)
  }
})

t.test('the runtime cleans up after DEL only for bridge with ipMasq', async t => {
  const rows: [string, Record<string, unknown>, boolean][] = [
    ['bridge ipMasq', { type: 'bridge', ipMasq: true }, true],
    ['bridge without ipMasq', { type: 'bridge' }, false],
    ['macvlan', { type: 'macvlan', ipMasq: true }, false],
  ]
  for (const [name, plugin, want] of rows) {
    const list = parseConfList({ cniVersion: '1.0.0', name: 'n', plugins: [plugin] })
    t.equal(usesBridgeIpMasq(list), want, name)
    const exec = new CniFakeExec(['bridge', 'macvlan'])
    const rt = new CniRuntime({
      binDirs: ['/fake/bin'],
      cacheDir: t.testdir(),
      pluginTimeoutMs: 1000,
      exec,
    })
    await rt.del(list, {
      containerId: 'c1',
      netns: '/proc/1/ns/net',
      ifName: 'net1',
      args: [],
      capabilityArgs: {},
    })
    t.equal(exec.trace.length, 1, `${name}: DEL ran`)
    t.equal(
      exec.commands.length > 0,
      want,
      `${name}: masquerade clean-up ${want ? 'ran' : 'skipped'}`,
    )
  }
})
