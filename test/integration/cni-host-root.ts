// Invariant: with the node's root filesystem mounted the way the chart mounts it (a read-only,
// private recursive bind of `/`, with /run and the IPAM dir bound writable over it), HostRootExec
// runs the node's own plugins through the real `chroot`: bridge + host-local + ipMasq with a
// chained portmap configure the pod netns, their NAT rules (masquerade for the pod IP, DNAT of the
// mapped port to it) appear on ADD and are gone after DEL — the plugins ran the node's iptables.
// Everything happens in netns the test creates (plugins run in a test "host" netns through
// `ip netns exec`), on a bridge and subnet of the test's own. It also measures ADD+DEL latency
// through the chroot against the same plugins run directly, and prints both.
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, rmdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseConfList, type NetworkConfigList } from '../../src/cni/conf.js'
import { ProcessExec, type CniExec } from '../../src/cni/exec.js'
import { HostRootExec } from '../../src/cni/host-root-exec.js'
import { CniRuntime, type RuntimeConf } from '../../src/cni/runtime.js'
import { addresses, createNetns, deleteNetns, randomSuffix, type Netns } from './lib/netns.js'

const run = promisify(execFile)
const BIN = '/usr/lib/cni'
const isRoot = process.getuid?.() === 0
const havePlugins = await stat(join(BIN, 'portmap')).then(
  () => true,
  () => false,
)
if (!isRoot || !havePlugins) {
  t.fail(`needs root and ${BIN}/portmap (apt-get install -y containernetworking-plugins)`)
  process.exit(1)
}

const sfx = randomSuffix()

async function sh(cmd: string, ...args: string[]): Promise<string> {
  return (await run(cmd, args, { encoding: 'utf8' })).stdout
}

/**
 * A test "host" netns and a pod netns, then the chart's mounts made in this mount namespace under a
 * temp dir: `/` recursively bound and made private at once (nothing done below it propagates back),
 * its top mount read-only, and /run plus a scratch dir (IPAM state, cache) bound writable over it.
 * One teardown undoes it in the only safe order: the unmount first (the netns files are
 * mount points in the copy too), then the netns; the mount point itself is only ever removed with
 * rmdir, never recursively (it holds the whole filesystem while mounted).
 */
async function fixture(
  tt: Test,
  tag: string,
): Promise<{ host: Netns; pod: Netns; root: string; data: string }> {
  const host = await createNetns(`ndra-h${tag}${sfx}`)
  const pod = await createNetns(`ndra-p${tag}${sfx}`)
  const base = await mkdtemp(join(tmpdir(), 'ndra-hostroot-'))
  const root = join(base, 'host')
  const data = join(base, 'data')
  await mkdir(root)
  await mkdir(data)
  tt.teardown(async () => {
    // One lazy detach of the whole (private) tree: a recursive unmount by path cannot reach the
    // copies of /run/netns that the /run bind shadows.
    await run('umount', ['-l', root])
    await deleteNetns(host.name)
    await deleteNetns(pod.name)
    const stillMounted = await run('mountpoint', ['-q', root]).then(
      () => true,
      () => false,
    )
    if (stillMounted) throw new Error(`${root} is still a mount point; left in place`)
    await rmdir(root)
    await rm(data, { recursive: true, force: true })
    await rmdir(base)
  })
  await sh('mount', '--rbind', '/', root)
  await sh('mount', '--make-rprivate', root)
  await sh('mount', '-o', 'remount,bind,ro', root)
  for (const p of ['/run', data]) {
    await sh('mount', '--rbind', p, join(root, p))
    await sh('mount', '--make-rprivate', join(root, p))
  }
  return { host, pod, root, data }
}

function conflist(
  name: string,
  bridge: string,
  dataDir: string,
  subnet: string,
): NetworkConfigList {
  return parseConfList({
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet }]] },
      },
      {
        type: 'portmap',
        runtimeConfig: {
          portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }],
        },
      },
    ],
  })
}

function rtConf(containerId: string, pod: Netns): RuntimeConf {
  return {
    containerId,
    netns: pod.path,
    ifName: 'net1',
    args: [['IgnoreUnknown', '1']],
    capabilityArgs: {},
  }
}

function runtime(dir: string, exec: CniExec): CniRuntime {
  return new CniRuntime({
    binDirs: [BIN],
    cacheDir: join(dir, 'cache'),
    pluginTimeoutMs: 20_000,
    exec,
    // The daemon passes its own environment; direct exec needs its PATH to find iptables.
    parentEnv: { PATH: process.env.PATH },
  })
}

const esc = (x: string) => x.replace(/\./g, '\\.')
const natRules = (host: Netns) => sh('ip', 'netns', 'exec', host.name, 'iptables-save', '-t', 'nat')

t.test('bridge + ipMasq + portmap through the real chroot', async tt => {
  const { host, pod, root, data: dir } = await fixture(tt, 'r')
  const dataDir = join(dir, 'ipam')
  await mkdir(dataDir)
  const exec = new HostRootExec({
    root,
    chrootCommand: ['ip', 'netns', 'exec', host.name, 'chroot'],
  })
  tt.equal(await exec.findInPath('bridge', ['/opt/cni/bin', BIN]), `${BIN}/bridge`)
  const list = conflist(`hr-${sfx}`, `ndrahr${sfx}`, dataDir, '10.251.9.0/24')
  const rt = rtConf(`hr-${sfx}`, pod)
  const cni = runtime(dir, exec)

  await cni.add(list, rt)
  const [addr] = await addresses(pod.name, 'net1')
  tt.match(addr, /^10\.251\.9\.\d+\/24$/, 'pod got an address from the test subnet')
  const ip = (addr ?? '').split('/')[0] ?? ''
  const after = await natRules(host)
  tt.match(
    after,
    new RegExp(`-A POSTROUTING -s ${ip.replace(/\./g, '\\.')}/32 .*-j CNI-`),
    'ipMasq',
  )
  tt.match(after, new RegExp(`--to-destination ${ip.replace(/\./g, '\\.')}:8080`), 'portmap DNAT')

  await cni.del(list, rt)
  const gone = await natRules(host)
  tt.notMatch(gone, new RegExp(`${ip.replace(/\./g, '\\.')}[/:]`), 'no rule names the pod IP')
  tt.notMatch(gone, /^:CNI-DN-/m, 'no per-container DNAT chain left')
})

t.test('DEL after the pod netns is gone still removes the NAT rules', async tt => {
  const { host, pod, root, data: dir } = await fixture(tt, 'g')
  const dataDir = join(dir, 'ipam')
  await mkdir(dataDir)
  const exec = new HostRootExec({
    root,
    chrootCommand: ['ip', 'netns', 'exec', host.name, 'chroot'],
  })
  const list = conflist(`hg-${sfx}`, `ndrahg${sfx}`, dataDir, '10.251.11.0/24')
  const cni = runtime(dir, exec)
  await cni.add(list, rtConf(`hg-${sfx}`, pod))
  const [addr] = await addresses(pod.name, 'net1')
  const ip = esc((addr ?? '').split('/')[0] ?? '')
  tt.match(await natRules(host), new RegExp(`-s ${ip}/32`), 'masquerade rule after ADD')
  // What the kubelet's unprepare sees: the sandbox and its netns are already gone.
  const gone = { ...rtConf(`hg-${sfx}`, pod), netns: `/run/netns/ndra-gone-${sfx}` }
  await cni.del(list, gone)
  const after = await natRules(host)
  tt.notMatch(
    after,
    new RegExp(`${ip}[/:]`),
    'no rule names the pod IP (bridge alone would leave it)',
  )
  tt.notMatch(after, /^:CNI-DN-/m, 'portmap chain gone')
})

t.test('ADD+DEL latency: chroot vs direct exec (same plugins, same netns)', async tt => {
  const { host, pod, root, data: dir } = await fixture(tt, 'm')
  const dataDir = join(dir, 'ipam')
  await mkdir(dataDir)
  const execs: [string, CniExec][] = [
    ['direct', new ProcessExec({ wrapper: ['ip', 'netns', 'exec', host.name] })],
    [
      'chroot',
      new HostRootExec({ root, chrootCommand: ['ip', 'netns', 'exec', host.name, 'chroot'] }),
    ],
  ]
  const rounds = 10
  const ms: Record<string, { add: number[]; del: number[] }> = {}
  for (let i = 0; i < rounds; i++) {
    for (const [label, exec] of execs) {
      const list = conflist(`hm-${sfx}`, `ndrahm${sfx}`, dataDir, '10.251.10.0/24')
      const rt = rtConf(`hm-${sfx}-${label}`, pod)
      const cni = runtime(dir, exec)
      const r = (ms[label] ??= { add: [], del: [] })
      const t0 = performance.now()
      await cni.add(list, rt)
      const t1 = performance.now()
      await cni.del(list, rt)
      r.add.push(t1 - t0)
      r.del.push(performance.now() - t1)
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
  const rows = Object.entries(ms).map(
    ([k, v]) =>
      `  ${k}: ADD median ${median(v.add).toFixed(1)} ms, DEL ${median(v.del).toFixed(1)} ms`,
  )
  console.log(`# bridge+ipMasq+portmap, ${rounds} rounds each\n${rows.join('\n')}`)
  tt.equal(Object.keys(ms).length, 2, 'both executors ran every round')
  tt.equal(await natRules(host).then(r => /^:CNI-DN-/m.test(r)), false, 'all cleaned up')
})
