// Invariant (KEP-4680 device health, issue 10): with the real pieces the driver wires (ip monitor
// link, the host-link inventory and watcher, the health monitor with nsenter probes, the kubelet
// plugin serving DRAResourceHealth), a kubelet-side stream on v1 sees, for decoy links and a netns
// this test creates: a host-interface device turn UNHEALTHY when its link goes down and HEALTHY
// again when it comes up, an attachment turn UNHEALTHY when its interface goes down (peer down)
// and back, and when its interface is deleted inside the pod netns, and a held host device turn
// UNHEALTHY when its link is deleted — each driven by link events routed as the daemon routes them
// (routeLinkEvent: only events of links a device depends on that changed wake a pass; the resync and
// probe periods are a minute, longer than the test waits). The registration
// advertises v1 and v1alpha1. Needs root, ip, nsenter.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { ClientReadableStream, MethodDefinition } from '@grpc/grpc-js'
import { FsNetnsProbe } from '../../src/attach/attach-netns-probe.js'
import { execaRunner } from '../../src/driver/command-runner.js'
import { DeviceHealthMonitor } from '../../src/health/device-health-monitor.js'
import { NsenterInterfaceReader } from '../../src/health/netns-interfaces.js'
import { HostLinkWatcher } from '../../src/inventory/host-link-watcher.js'
import { HostLinkInventory } from '../../src/inventory/host-links.js'
import { LinkMonitor, nodeLineSpawner } from '../../src/inventory/link-monitor.js'
import { routeLinkEvent } from '../../src/driver/link-events.js'
import { KubeletPlugin } from '../../src/kubelet/kubelet-plugin.js'
import { loadKubeletProtos } from '../../src/kubelet/protos.js'
import { callUnary, methodOf, unixClient } from '../../src/kubelet/unary-call.js'
import { silentLogger } from '../../src/logger.js'
import { systemClock } from '../../src/slices/clock.js'
import { hostDeviceName, poolDevices } from '../../src/slices/device-builder.js'
import { ClaimLedger } from '../../src/state/claim-ledger.js'
import {
  createNetns,
  createVethPair,
  deleteLink,
  deleteNetns,
  ip,
  randomSuffix,
} from './lib/netns.js'
import { seedClaim } from '../lib/ledger-seed.js'

const POOL = 'node-health'
const MINUTE = 60_000
const protos = loadKubeletProtos()

interface Report {
  devices: { device: { deviceName: string }; health: string; message: string }[]
}

/** Waits for the first report satisfying `ok`; resolves with it and the ms waited. */
function watcher(stream: ClientReadableStream<unknown>): {
  until: (ok: (r: Map<string, string>) => boolean, ms: number) => Promise<number>
  last: () => Map<string, string>
} {
  let last = new Map<string, string>()
  const waiters: { ok: (r: Map<string, string>) => boolean; done: () => void }[] = []
  stream.on('data', (r: Report) => {
    last = new Map(r.devices.map(d => [d.device.deviceName, `${d.health} ${d.message}`.trim()]))
    for (const w of [...waiters]) {
      if (w.ok(last)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.done()
      }
    }
  })
  stream.on('error', () => undefined)
  return {
    last: () => last,
    until: (ok, ms) => {
      const t0 = Date.now()
      if (ok(last)) return Promise.resolve(0)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no matching report in ${ms} ms; last: ${JSON.stringify([...last])}`))
        }, ms)
        waiters.push({
          ok,
          done: () => {
            clearTimeout(timer)
            resolve(Date.now() - t0)
          },
        })
      })
    },
  }
}

t.test('device health follows real links and a real pod netns', async t => {
  t.equal(process.getuid?.(), 0, 'must run as root')
  const sfx = randomSuffix()
  const hostA = `ndha${sfx}`
  const hostB = `ndhb${sfx}`
  const podHost = `ndhc${sfx}`
  const ns = `ndh-${sfx}`
  const dir = await mkdtemp(join(tmpdir(), 'ndra-dh-'))
  t.teardown(async () => {
    await deleteLink(hostA)
    await deleteLink(podHost)
    await deleteNetns(ns)
    await rm(dir, { recursive: true, force: true })
  })
  // Decoys: a veth pair with both ends on the host (offered by the filter), and a "pod" netns
  // holding net1 (its peer stays on the host, as a pod's veth does).
  await createVethPair(hostA, hostB)
  const netns = await createNetns(ns)
  await ip(undefined, 'link', 'add', podHost, 'type', 'veth', 'peer', 'name', 'net1', 'netns', ns)
  await ip(undefined, 'link', 'set', podHost, 'up')
  await ip(ns, 'link', 'set', 'net1', 'up')
  await ip(ns, 'addr', 'add', '10.97.3.2/24', 'dev', 'net1')
  const probe = new FsNetnsProbe()
  const netnsId = await probe.identify(netns.path)
  t.ok(netnsId, 'netns identified')

  const hostDev = hostDeviceName(hostA)
  const ledger = await ClaimLedger.open({ dir: join(dir, 'state') })
  t.teardown(() => ledger.close())
  await seedClaim(ledger, {
    uid: 'u1',
    namespace: 'ns',
    name: 'c1',
    plans: [
      {
        request: 'uplink',
        pool: POOL,
        device: hostDev,
        hostInterface: hostA,
        ifName: 'net2',
        networkConfig: {},
        capabilityArgs: {},
        cniArgs: [],
      },
      {
        request: 'net',
        pool: POOL,
        device: 'attachment-0',
        ifName: 'net1',
        networkConfig: {},
        capabilityArgs: {},
        cniArgs: [],
      },
    ],
    cdiDeviceIds: [],
    attachments: [
      {
        sandboxId: 'sb1',
        podUid: 'pu1',
        podName: 'p1',
        podNamespace: 'ns',
        request: 'net',
        device: 'attachment-0',
        ifName: 'net1',
        netns: netns.path,
        ...(netnsId !== undefined ? { netnsId } : {}),
        networkName: 'n',
        phase: 'attached',
        result: {
          cniVersion: '1.0.0',
          // As a veth-based plugin (ptp, bridge) reports it: the node side first, then net1.
          interfaces: [{ name: podHost }, { name: 'net1', sandbox: netns.path }],
          ips: [{ address: '10.97.3.2/24', interface: 1 }],
        },
        updatedAt: new Date().toISOString(),
      },
    ],
    preparedAt: new Date().toISOString(),
  })
  const health = new DeviceHealthMonitor({
    pool: POOL,
    claims: ledger,
    reader: new NsenterInterfaceReader({ runner: execaRunner, probe }),
    clock: systemClock,
    logger: silentLogger(),
    intervalMs: MINUTE,
    minGapMs: 200,
    maxProbesPerPass: 8,
    concurrency: 2,
  })
  const inventory = new HostLinkInventory({
    runner: execaRunner,
    nameFilter: new RegExp(`^${hostA}$`),
  })
  const links = new HostLinkWatcher({
    source: inventory,
    clock: systemClock,
    logger: silentLogger(),
    intervalMs: MINUTE,
    onChange: l => {
      health.setDevices(
        poolDevices(1, l).map(d => d.name),
        l,
      )
    },
  })
  const monitor = new LinkMonitor({
    spawner: nodeLineSpawner,
    clock: systemClock,
    logger: silentLogger(),
    onEvent: event => {
      routeLinkEvent(event, { inventory, watcher: links, health })
    },
  })
  monitor.start()
  t.teardown(() => {
    monitor.stop()
    links.stop()
    health.stop()
  })
  await links.start()
  await health.start()

  const registrarDir = join(dir, 'reg')
  await mkdir(registrarDir)
  const plugin = new KubeletPlugin({
    driverName: 'network-dra.dev',
    registrarDir,
    pluginsDir: join(dir, 'plugins'),
    preparer: {
      prepare: () => Promise.resolve(new Map()),
      unprepare: () => Promise.resolve(new Map()),
    },
    logger: silentLogger(),
    protos,
    resourceHealth: { source: health, timeoutSeconds: 30 },
    shutdownGraceMs: 500,
  })
  await plugin.start()
  t.teardown(() => plugin.stop())
  const reg = unixClient(plugin.paths.registrationSocket)
  t.teardown(() => {
    reg.close()
  })
  const info = (await callUnary(reg, methodOf(protos.registration, 'GetInfo'), {}, 5_000)) as {
    supportedVersions: string[]
  }
  t.same(info.supportedVersions, [
    'v1.DRAPlugin',
    'v1beta1.DRAPlugin',
    'v1.DRAResourceHealth',
    'v1alpha1.DRAResourceHealth',
  ])

  const client = unixClient(plugin.paths.draSocket)
  t.teardown(() => {
    client.close()
  })
  const m = protos.draHealthV1.NodeWatchResources as MethodDefinition<unknown, unknown>
  const stream = client.makeServerStreamRequest(
    m.path,
    m.requestSerialize,
    m.responseDeserialize,
    {},
  )
  t.teardown(() => {
    stream.cancel()
  })
  const w = watcher(stream)
  await w.until(r => r.get(hostDev) === 'HEALTHY' && r.get('attachment-0') === 'HEALTHY', 5_000)
  t.pass('both devices start HEALTHY')

  const timings: Record<string, number> = {}
  await ip(undefined, 'link', 'set', hostA, 'down')
  timings.down = await w.until(r => r.get(hostDev)?.startsWith('UNHEALTHY') === true, 5_000)
  t.equal(w.last().get(hostDev), `UNHEALTHY host link ${hostA} is down`)

  await ip(undefined, 'link', 'set', hostA, 'up')
  timings.up = await w.until(r => r.get(hostDev) === 'HEALTHY', 5_000)

  // The pod interface's peer (its "parent") going down: net1 reads DOWN inside the pod.
  await ip(undefined, 'link', 'set', podHost, 'down')
  timings.podParentDown = await w.until(
    r => r.get('attachment-0')?.startsWith('UNHEALTHY') === true,
    5_000,
  )
  t.equal(w.last().get('attachment-0'), 'UNHEALTHY interface net1 of pod ns/p1 is down')
  await ip(undefined, 'link', 'set', podHost, 'up')
  timings.podParentUp = await w.until(r => r.get('attachment-0') === 'HEALTHY', 5_000)

  await ip(ns, 'link', 'del', 'net1')
  timings.podIfDeleted = await w.until(
    r => r.get('attachment-0')?.startsWith('UNHEALTHY') === true,
    5_000,
  )
  t.equal(w.last().get('attachment-0'), 'UNHEALTHY interface net1 is gone from pod ns/p1')

  await ip(undefined, 'link', 'del', hostA)
  timings.hostDeleted = await w.until(r => r.get(hostDev)?.startsWith('UNHEALTHY') === true, 5_000)
  t.equal(w.last().get(hostDev), `UNHEALTHY host link ${hostA} is gone from the node`)
  t.ok(monitor.events > 0, 'link events were seen')
  t.comment(`report latency ms: ${JSON.stringify(timings)}`)
})
