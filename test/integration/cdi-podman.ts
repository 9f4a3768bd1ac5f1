// Invariant: a spec written by our CdiSpecWriter is accepted by a real CDI consumer (podman with
// runc): the device id resolves, the createRuntime hook runs with our argv and receives the OCI
// state (id, pid, bundle) on stdin, for both cdiVersion 0.3.0 (letter-first claim UID) and 0.5.0
// (digit-first UID); and a failing hook stops the container (fail-closed) with its reason visible.
// Needs root and podman; podman 4.3 reads only /etc/cdi and /var/run/cdi, so the spec goes to
// /var/run/cdi under a unique claim UID and is removed in teardown.
import t from 'tap'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { CdiSpecWriter } from '../../src/cdi/spec-writer.js'
import { ensureTestImage } from './lib/test-image.js'

const run = promisify(execFile)
const CDI_ROOT = '/var/run/cdi'

interface PodmanResult {
  code: number
  stdout: string
  stderr: string
}

async function podmanRun(image: string, cdiId: string): Promise<PodmanResult> {
  const args = [
    'run',
    '--rm',
    '--pull=never',
    '--network=none',
    '--ulimit',
    'nofile=1024:1024',
    '--ulimit',
    'nproc=1024:1024',
    '--device',
    cdiId,
    image,
    'true',
  ]
  try {
    const { stdout, stderr } = await run('podman', args, { timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err: unknown) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }
  }
}

/** A hook script that records its argv and stdin (the OCI state) into `outDir`, then runs `tail`. */
async function writeHook(dir: string, outDir: string, tail: string): Promise<string> {
  const path = join(dir, 'hook.sh')
  await writeFile(
    path,
    [
      '#!/bin/sh',
      `cat > '${outDir}/state.json'`,
      `for a in "$@"; do printf '%s\\n' "$a"; done > '${outDir}/argv'`,
      tail,
      '',
    ].join('\n'),
  )
  await chmod(path, 0o755)
  return path
}

const image = await ensureTestImage()
const usedUids: string[] = []

for (const c of [
  { name: 'letter-first claim UID (cdiVersion 0.3.0)', first: 'a', cdiVersion: '0.3.0' },
  { name: 'digit-first claim UID (cdiVersion 0.5.0)', first: '7', cdiVersion: '0.5.0' },
]) {
  t.test(`podman runs our hook: ${c.name}`, async t => {
    const work = await mkdtemp(join(tmpdir(), 'ndra-cdi-podman-'))
    const uid = `${c.first}${randomUUID().slice(1)}`
    usedUids.push(uid)
    const writer = new CdiSpecWriter({
      cdiRoot: CDI_ROOT,
      driverName: 'network-dra.dev',
      hookPath: await writeHook(work, work, 'exit 0'),
      hookSocket: '/run/network-dra/hook.sock',
      hookTimeoutSeconds: 10,
    })
    t.teardown(async () => {
      await writer.remove(uid)
      await rm(work, { recursive: true, force: true })
    })
    const [id] = await writer.write(uid, [{ device: 'attachment-0', request: 'net' }])
    const spec = JSON.parse(await readFile(writer.specPath(uid), 'utf8')) as { cdiVersion: string }
    t.equal(spec.cdiVersion, c.cdiVersion)
    t.equal(id, `network-dra.dev/net=${uid}-attachment-0`)

    const res = await podmanRun(image, id!)
    t.equal(res.code, 0, `podman run succeeded: ${res.stderr}`)

    const state = JSON.parse(await readFile(join(work, 'state.json'), 'utf8')) as Record<
      string,
      unknown
    >
    t.match(state.id, /^[0-9a-f]{64}$/, 'state.id is the container id')
    t.type(state.pid, 'number')
    t.ok((state.pid as number) > 0, 'state.pid is the container init pid')
    t.match(state.bundle, /^\//, 'state.bundle is absolute')
    t.equal(state.status, 'creating', 'createRuntime runs while the container is being created')
    t.type(state.ociVersion, 'string')
    const argv = (await readFile(join(work, 'argv'), 'utf8')).trimEnd().split('\n')
    t.strictSame(argv, [
      'attach',
      '--claim',
      uid,
      '--request',
      'net',
      '--device',
      'attachment-0',
      '--socket',
      '/run/network-dra/hook.sock',
      '--timeout-ms',
      '8000',
    ])
  })
}

t.test('a failing hook fails the container (fail-closed) with its reason', async t => {
  const work = await mkdtemp(join(tmpdir(), 'ndra-cdi-podman-'))
  const uid = `f${randomUUID().slice(1)}`
  usedUids.push(uid)
  const writer = new CdiSpecWriter({
    cdiRoot: CDI_ROOT,
    driverName: 'network-dra.dev',
    hookPath: await writeHook(work, work, "echo 'attach refused: test reason' >&2\nexit 3"),
    hookSocket: '/run/network-dra/hook.sock',
    hookTimeoutSeconds: 10,
  })
  t.teardown(async () => {
    await writer.remove(uid)
    await rm(work, { recursive: true, force: true })
  })
  const [id] = await writer.write(uid, [{ device: 'attachment-1', request: 'net' }])
  const res = await podmanRun(image, id!)
  t.not(res.code, 0, 'podman run failed')
  t.match(res.stderr, /error running (createRuntime )?hook #0/, 'error names the failed hook')
  t.match(res.stderr, /attach refused: test reason/, 'error carries the hook stderr')
  t.comment(`podman said: ${res.stderr.trim()}`)
  t.ok(JSON.parse(await readFile(join(work, 'state.json'), 'utf8')), 'the hook did run')
})

t.test('an unknown device of our kind is refused', async t => {
  const res = await podmanRun(image, `network-dra.dev/net=nope${randomUUID()}-attachment-0`)
  t.not(res.code, 0)
  t.match(res.stderr, /unresolvable CDI devices|CDI/i)
  t.comment(`podman said: ${res.stderr.trim()}`)
})

t.test('runc enforces the timeout we put into the spec', async t => {
  const work = await mkdtemp(join(tmpdir(), 'ndra-cdi-podman-'))
  const uid = `s${randomUUID().slice(1)}`
  usedUids.push(uid)
  const writer = new CdiSpecWriter({
    cdiRoot: CDI_ROOT,
    driverName: 'network-dra.dev',
    hookPath: await writeHook(work, work, 'exec sleep 30'),
    hookSocket: '/run/network-dra/hook.sock',
    hookTimeoutSeconds: 3,
  })
  t.teardown(async () => {
    await writer.remove(uid)
    await rm(work, { recursive: true, force: true })
  })
  const [id] = await writer.write(uid, [{ device: 'attachment-2', request: 'net' }])
  const started = Date.now()
  const res = await podmanRun(image, id!)
  const took = Date.now() - started
  t.not(res.code, 0, 'podman run failed')
  t.match(res.stderr, /timeout of 3/, 'runc killed the hook at our timeout')
  t.ok(took >= 3000 && took < 20_000, `took ${took} ms`)
  t.comment(`podman said: ${res.stderr.trim()}`)
})

t.test('teardown removed every spec written here', async t => {
  // tap runs subtests in order and each one's teardown before the next starts.
  for (const uid of usedUids) {
    t.notOk(existsSync(join(CDI_ROOT, `network-dra.dev-net_${uid}.json`)), uid)
  }
  t.equal(usedUids.length, 4)
})
