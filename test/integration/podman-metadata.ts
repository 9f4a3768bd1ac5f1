// Invariant (KEP-5304 device metadata, issue 10): a container started by real podman + runc with
// our CDI device finds its claim request's metadata file at the KEP path, read-only, holding the
// upstream DeviceMetadata stream (v1beta1 then v1alpha1) whose networkData (interface name,
// addresses, MAC) is what the attach returned and what the container's own interface shows,
// although the file was rewritten by the createRuntime hook after runc had bind-mounted it; the
// prioritized-list reference `req/sub` is kept inside, the path uses the main request; unprepare
// removes the file. Needs root, podman, runc, /usr/lib/cni, the test image and the built hook.
import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { Attacher } from '../../src/attach/attacher.js'
import { Detacher } from '../../src/attach/detacher.js'
import { RequestLocks } from '../../src/attach/request-locks.js'
import { FsNetnsProbe } from '../../src/attach/attach-netns-probe.js'
import { HookServer } from '../../src/attach/hook-server.js'
import { PodResolver } from '../../src/attach/pod-resolver.js'
import type { AttachmentPlan } from '../../src/attach/attachment-plan.js'
import { CdiSpecWriter } from '../../src/cdi/spec-writer.js'
import { CniRuntime } from '../../src/cni/runtime.js'
import { networkDataFromResult } from '../../src/cni/result.js'
import { cdiDevicesOf, ClaimMetadata } from '../../src/driver/claim-metadata.js'
import { DeviceMetadataFiles, containerMetadataPath } from '../../src/metadata/device-metadata.js'
import { ClaimLedger } from '../../src/state/claim-ledger.js'
import { silentLogger } from '../../src/logger.js'
import { hookBinary, podmanScratch } from './lib/podman-scratch.js'
import { TEST_IMAGE, ensureTestImage } from './lib/test-image.js'

const DRIVER = 'network-dra.dev'

interface Exit {
  code: number
  stdout: string
  stderr: string
}

async function sh(cmd: string, args: readonly string[]): Promise<Exit> {
  return new Promise(resolveExit => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('close', code => {
      resolveExit({ code: code ?? -1, stdout, stderr })
    })
  })
}

/** The JSON objects of a metadata stream (pretty-printed objects, one after another). */
function streamObjects(text: string): Record<string, unknown>[] {
  return text
    .split(/\n(?=\{)/)
    .filter(s => s.trim() !== '')
    .map(s => JSON.parse(s) as Record<string, unknown>)
}

t.test('podman + runc: the metadata file inside the container matches the attach', async t => {
  t.equal(process.getuid?.(), 0, 'must run as root')
  const sfx = randomBytes(3).toString('hex')
  const octet = 1 + ((randomBytes(1)[0] ?? 0) % 250)
  const subnet = `10.98.${octet}.0/24`
  const master = `ndmm${sfx}`
  const peer = `ndmp${sfx}`
  const claimUid = randomUUID()
  const { work, containers, cleanups } = await podmanScratch(t, {
    prefix: 'ndra-meta-',
    master,
    peer,
  })
  const socketPath = join(work, 'sock', 'hook.sock')

  const hookBin = await hookBinary()
  await ensureTestImage()

  const plan: AttachmentPlan = {
    request: 'nic',
    requestRef: 'nic/macvlan',
    pool: 'node',
    device: 'attachment-0',
    networkConfig: {
      cniVersion: '1.0.0',
      name: `ndra-md-${sfx}`,
      plugins: [
        {
          type: 'macvlan',
          master,
          mode: 'bridge',
          ipam: {
            type: 'host-local',
            dataDir: join(work, 'ipam'),
            ranges: [[{ subnet, rangeStart: `10.98.${octet}.20`, rangeEnd: `10.98.${octet}.20` }]],
          },
        },
      ],
    },
    ifName: 'net1',
    capabilityArgs: {},
    cniArgs: [],
  }
  const ledger = await ClaimLedger.open({ dir: join(work, 'state') })
  cleanups.push(() => ledger.close())
  const record = await ledger.prepared({
    uid: claimUid,
    namespace: 'default',
    name: `pod-md-net-${sfx}`,
    podClaimName: 'net',
    plans: [plan],
    cdiDeviceIds: [],
  })

  // Prepare: the file (generation 1, no network data) and the CDI spec that mounts it.
  const files = new DeviceMetadataFiles({
    root: join(work, 'dra-device-metadata'),
    driverName: DRIVER,
    versions: ['v1beta1', 'v1alpha1'],
  })
  const metadata = new ClaimMetadata(files)
  await metadata.prepare(record)
  const specs = new CdiSpecWriter({
    cdiRoot: '/var/run/cdi',
    driverName: DRIVER,
    hookPath: hookBin,
    hookSocket: socketPath,
    hookTimeoutSeconds: 5,
  })
  cleanups.push(() => specs.remove(claimUid))
  const [deviceId] = await specs.write(claimUid, cdiDevicesOf(record, files))

  const probe = new FsNetnsProbe()
  const cni = new CniRuntime({
    binDirs: ['/usr/lib/cni'],
    cacheDir: join(work, 'cni-cache'),
    pluginTimeoutMs: 10_000,
  })
  const locks = new RequestLocks()
  const attacher = new Attacher({
    ledger,
    cni,
    resolver: new PodResolver({ probe }),
    probe,
    locks,
    logger: silentLogger(),
    metadata,
  })
  const detacher = new Detacher({ ledger, cni, probe, locks, logger: silentLogger() })
  const server = new HookServer({ socketPath, handler: attacher, logger: silentLogger() })
  await server.start()
  cleanups.push(() => server.stop(0))

  const inCtr = containerMetadataPath(DRIVER, record, 'nic/macvlan')
  t.equal(
    inCtr,
    '/var/run/kubernetes.io/dra-device-attributes/resourceclaimtemplates/net/nic/network-dra.dev-metadata.json',
  )
  const name = `ndmd-${sfx}`
  containers.push(name)
  const out = await sh('podman', [
    'run',
    '--rm',
    '--name',
    name,
    '--network=none',
    // The runner's own limits may be above what the container may set (as in podman-attach.ts).
    '--ulimit',
    'nofile=1024:1024',
    '--ulimit',
    'nproc=1024:1024',
    '--device',
    deviceId ?? '',
    TEST_IMAGE,
    'sh',
    '-c',
    `cat ${inCtr}; echo '@@'; ip -o addr show net1; ip -o link show net1; echo '@@'; ` +
      `if echo x >> ${inCtr} 2>/dev/null; then echo writable; else echo read-only; fi`,
  ])
  t.equal(out.code, 0, `podman run: ${out.stderr}`)
  const [fileText = '', ipText = '', roText = ''] = out.stdout.split('@@\n')

  // What the attach returned (and the claim status is built from).
  const rec = ledger.claim(claimUid)?.attachments[0]
  t.equal(rec?.phase, 'attached')
  const want = networkDataFromResult(rec?.result ?? {}, 'net1')
  t.ok(want.ips.length > 0, 'the attach has an address')

  const objs = streamObjects(fileText)
  t.same(
    objs.map(o => o['apiVersion']),
    ['metadata.resource.k8s.io/v1beta1', 'metadata.resource.k8s.io/v1alpha1'],
  )
  for (const o of objs) {
    t.match(o, {
      kind: 'DeviceMetadata',
      metadata: { name: record.name, namespace: 'default', uid: claimUid, generation: 2 },
      podClaimName: 'net',
      requests: [
        {
          name: 'nic/macvlan',
          devices: [
            {
              driver: DRIVER,
              pool: 'node',
              name: 'attachment-0',
              networkData: {
                interfaceName: 'net1',
                ips: want.ips,
                hardwareAddress: want.hardwareAddress,
              },
            },
          ],
        },
      ],
    })
  }
  // The container's own interface has the same address and MAC.
  for (const ip of want.ips) t.match(ipText, `inet ${ip}`)
  t.match(ipText, `link/ether ${want.hardwareAddress ?? 'missing'}`)
  t.equal(roText.trim(), 'read-only', 'the file is mounted read-only')
  t.comment(fileText.split('\n').slice(0, 30).join('\n'))

  // Unprepare: DEL and the file goes away.
  await detacher.detachClaim(claimUid)
  await metadata.remove(record)
  t.equal(await files.read(record, 'nic'), undefined)
})
