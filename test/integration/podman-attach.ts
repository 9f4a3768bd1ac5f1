// Invariant (issue 2, end to end without Kubernetes): a container started by real podman + runc
// with our CDI device gets its claim network from our single-executable hook → hook server →
// attacher → real CNI plugins; a second hook run for the same sandbox runs no second ADD; a stale
// attachment of a dead container is replaced; a live one is defended (claim in use); a broken
// network config and a stopped plugin both keep the container from running (fail-closed) with our
// one-line reason in podman's output; detach removes the interface and frees the address.
// Needs root, podman, runc, /usr/lib/cni, the test image and the built hook.
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { access, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { AttachMetrics, AttachOutcome } from '../../src/attach/attach-events.js'
import { Attacher } from '../../src/attach/attacher.js'
import { Detacher } from '../../src/attach/detacher.js'
import { RequestLocks } from '../../src/attach/request-locks.js'
import { FsNetnsProbe } from '../../src/attach/attach-netns-probe.js'
import { HookServer, type AttachHandler, type OciState } from '../../src/attach/hook-server.js'
import { PodResolver } from '../../src/attach/pod-resolver.js'
import type { AttachmentPlan } from '../../src/attach/attachment-plan.js'
import { CdiSpecWriter } from '../../src/cdi/spec-writer.js'
import { CniRuntime } from '../../src/cni/runtime.js'
import { ClaimLedger } from '../../src/state/claim-ledger.js'
import { silentLogger } from '../../src/logger.js'
import { hookBinary, podmanScratch } from './lib/podman-scratch.js'
import { TEST_IMAGE, ensureTestImage } from './lib/test-image.js'

const run = promisify(execFile)
const CDI_ROOT = '/var/run/cdi'
const HOOK_TIMEOUT_S = 5

interface Exit {
  code: number
  stdout: string
  stderr: string
}

async function sh(cmd: string, args: readonly string[], input?: string): Promise<Exit> {
  return new Promise(resolveExit => {
    const child = spawn(cmd, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('close', code => {
      resolveExit({ code: code ?? -1, stdout, stderr })
    })
    if (child.stdin) {
      // A child may exit without reading its stdin; that is not a test failure.
      child.stdin.on('error', () => undefined)
      child.stdin.end(input)
    }
  })
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

function conflist(name: string, master: string, subnet: string, dataDir: string) {
  const base = subnet.replace(/\.0\/24$/, '')
  return {
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'macvlan',
        master,
        mode: 'bridge',
        ipam: {
          type: 'host-local',
          dataDir,
          // One address only: a second ADD can only succeed after the first was DELeted.
          ranges: [[{ subnet, rangeStart: `${base}.10`, rangeEnd: `${base}.10` }]],
        },
      },
    ],
  }
}

function plan(
  request: string,
  device: string,
  networkConfig: Record<string, unknown>,
): AttachmentPlan {
  return {
    request,
    pool: 'node',
    device,
    networkConfig,
    ifName: 'net1',
    capabilityArgs: {},
    cniArgs: [],
  }
}

t.test('podman + runc + CNI through our hook', async t => {
  t.equal(process.getuid?.(), 0, 'must run as root')
  const sfx = randomBytes(3).toString('hex')
  const octet = 1 + ((randomBytes(1)[0] ?? 0) % 250)
  const subnet = `10.99.${octet}.0/24`
  const planned = `10.99.${octet}.10/24`
  const master = `ndpm${sfx}`
  const peer = `ndpp${sfx}`
  const claimUid = randomUUID()
  const badUid = randomUUID()
  const netName = `ndra-pa-${sfx}`
  const { work, containers, cleanups } = await podmanScratch(t, {
    prefix: 'ndra-podman-',
    master,
    peer,
  })
  const dataDir = join(work, 'ipam')
  const cacheDir = join(work, 'cni-cache')
  const socketPath = join(work, 'sock', 'hook.sock')
  const markDir = join(work, 'mark')

  const hookBin = await hookBinary()
  await ensureTestImage()
  await run('mkdir', ['-p', markDir])

  const ledger = await ClaimLedger.open({ dir: join(work, 'state') })
  cleanups.push(() => ledger.close())
  const good = plan('net', 'attachment-0', conflist(netName, master, subnet, dataDir))
  const bad = plan('net', 'attachment-0', conflist(`${netName}-bad`, `ndnx${sfx}`, subnet, dataDir))
  for (const [uid, p] of [
    [claimUid, good],
    [badUid, bad],
  ] as const) {
    await ledger.prepared({
      uid,
      namespace: 'default',
      name: `claim-${uid.slice(0, 8)}`,
      plans: [p],
      cdiDeviceIds: [],
    })
  }

  const specs = new CdiSpecWriter({
    cdiRoot: CDI_ROOT,
    driverName: 'network-dra.dev',
    hookPath: hookBin,
    hookSocket: socketPath,
    hookTimeoutSeconds: HOOK_TIMEOUT_S,
  })
  cleanups.push(
    () => specs.remove(claimUid),
    () => specs.remove(badUid),
  )
  const [deviceId] = await specs.write(claimUid, [{ device: 'attachment-0', request: 'net' }])
  const [badDeviceId] = await specs.write(badUid, [{ device: 'attachment-0', request: 'net' }])
  t.ok(deviceId && badDeviceId)

  const outcomes: string[] = []
  const metrics: AttachMetrics = {
    observeAttach: (o: { outcome: AttachOutcome; code: string }) =>
      outcomes.push(`${o.outcome}/${o.code}`),
    observeAttachStep: () => undefined,
    observeDetach: () => undefined,
  }
  const probe = new FsNetnsProbe()
  const cni = new CniRuntime({ binDirs: ['/usr/lib/cni'], cacheDir, pluginTimeoutMs: 10_000 })
  const locks = new RequestLocks()
  const attacher = new Attacher({
    ledger,
    cni,
    resolver: new PodResolver({ probe }),
    probe,
    locks,
    logger: silentLogger(),
    metrics,
  })
  const detacher = new Detacher({ ledger, cni, probe, locks, logger: silentLogger() })
  const states: OciState[] = []
  const handler: AttachHandler = {
    attach: (req, signal) => {
      states.push(req.state)
      return attacher.attach(req, signal)
    },
  }
  const server = new HookServer({ socketPath, handler, logger: silentLogger() })
  await server.start()
  cleanups.push(() => server.stop(0))

  const podmanRun = (name: string, device: string, ...cmd: string[]): Promise<Exit> => {
    containers.push(name)
    return sh('podman', [
      'run',
      '--name',
      name,
      '--network=none',
      '--ulimit',
      'nofile=1024:1024',
      '--ulimit',
      'nproc=1024:1024',
      '-v',
      `${markDir}:/mark`,
      '--device',
      device,
      ...cmd.slice(0, cmd.indexOf('--')),
      TEST_IMAGE,
      ...cmd.slice(cmd.indexOf('--') + 1),
    ])
  }
  const reservations = async (): Promise<string[]> =>
    (await readdir(join(dataDir, netName)).catch(() => [] as string[])).filter(f => /^\d/.test(f))
  const cacheFile = (containerId: string) =>
    join(cacheDir, 'results', `${netName}-${containerId}-net1`)

  // 1. A container gets net1 with the planned address.
  const first = await podmanRun(
    `ndpa1-${sfx}`,
    deviceId ?? '',
    '--rm',
    '--',
    'ip',
    '-o',
    'addr',
    'show',
    'net1',
  )
  t.equal(first.code, 0, `podman run: ${first.stderr}`)
  t.match(first.stdout, new RegExp(`net1\\s+inet ${planned.replace(/\./g, '\\.')}`))
  const firstState = states.at(-1)
  t.ok(firstState, 'the hook reached the server')
  const firstId = firstState?.id ?? ''
  t.ok(await exists(cacheFile(firstId)), 'libcni cache entry written')
  t.same(await reservations(), [planned.replace('/24', '')])
  t.same(outcomes, ['added/OK'])

  // 2. A new container while the first one is gone: the stale attachment is DELeted, then ADD
  //    succeeds (the one-address range proves the order).
  const second = `ndpa2-${sfx}`
  const started = await podmanRun(
    second,
    deviceId ?? '',
    '-d',
    '--',
    'sh',
    '-c',
    'ip -o addr show net1; exec sleep 600',
  )
  t.equal(started.code, 0, `podman run -d: ${started.stderr}`)
  t.same(outcomes, ['added/OK', 'replaced/OK'])
  t.notOk(await exists(cacheFile(firstId)), 'old cache entry removed by DEL')
  const secondState = states.at(-1)
  const secondId = secondState?.id ?? ''
  t.ok(await exists(cacheFile(secondId)), 'new cache entry written')
  const logs = await sh('podman', ['logs', second])
  t.match(logs.stdout, planned)

  // 3. The same OCI state again (what a second container of the sandbox sends): the hook
  //    succeeds and no plugin runs.
  const spec = JSON.parse(await readFile(specs.specPath(claimUid), 'utf8')) as {
    devices: { containerEdits: { hooks: { path: string; args: string[] }[] } }[]
  }
  const hook = spec.devices[0]?.containerEdits.hooks[0]
  t.equal(hook?.path, hookBin)
  const again = await sh(hookBin, hook?.args.slice(1) ?? [], JSON.stringify(secondState))
  t.equal(again.code, 0, `hook re-run: ${again.stderr}`)
  t.same(outcomes, ['added/OK', 'replaced/OK', 'reused/OK'], 'no plugin run for the same sandbox')
  t.same(await reservations(), [planned.replace('/24', '')], 'host-local reservations unchanged')
  t.same(
    (await readdir(join(cacheDir, 'results'))).filter(f => f.startsWith(netName)),
    [`${netName}-${secondId}-net1`],
  )

  // 4. A third container while the second is alive: refused, container does not run.
  const third = await podmanRun(
    `ndpa3-${sfx}`,
    deviceId ?? '',
    '--rm',
    '--',
    'touch',
    '/mark/third',
  )
  t.not(third.code, 0)
  t.match(third.stderr, /a network claim serves one pod.*\[NDRA_CLAIM_IN_USE\]/)
  t.notOk(await exists(join(markDir, 'third')))
  t.comment(`podman said: ${third.stderr.trim()}`)

  // 5. A broken network config: the container fails to start with the CNI error line.
  const broken = await podmanRun(
    `ndpa4-${sfx}`,
    badDeviceId ?? '',
    '--rm',
    '--',
    'touch',
    '/mark/broken',
  )
  t.not(broken.code, 0)
  t.match(broken.stderr, /plugin type="macvlan".*failed \(add\).*\[NDRA_CNI_PLUGIN\]/)
  t.notOk(await exists(join(markDir, 'broken')))
  t.comment(`podman said: ${broken.stderr.trim()}`)
  t.match((await ledger.refresh())[badUid]?.attachments, [{ phase: 'failed' }])

  // 6. Detach: interface gone from the live container, address and cache entry freed.
  const inspect = await sh('podman', ['inspect', '--format', '{{.State.Pid}}', second])
  const pid = inspect.stdout.trim()
  const inCtr = () => sh('nsenter', ['-t', pid, '-n', 'ip', 'link', 'show', 'net1'])
  t.equal((await inCtr()).code, 0, 'net1 present before detach')
  await detacher.detachClaim(claimUid)
  t.not((await inCtr()).code, 0, 'net1 removed by detach')
  t.same(await reservations(), [], 'host-local address freed')
  t.same((await ledger.refresh())[claimUid]?.attachments, [])
  t.notOk(await exists(cacheFile(secondId)), 'cache entry removed')

  // 7. Plugin down: the hook retries until its deadline, then the container does not run.
  await server.stop(0)
  const t0 = Date.now()
  const down = await podmanRun(`ndpa5-${sfx}`, deviceId ?? '', '--rm', '--', 'touch', '/mark/down')
  t.not(down.code, 0)
  t.ok(Date.now() - t0 >= (HOOK_TIMEOUT_S - 2) * 1000 - 500, 'hook retried until its deadline')
  t.match(down.stderr, /network-dra/)
  t.notOk(await exists(join(markDir, 'down')), 'fail-closed: the command never ran')
})
