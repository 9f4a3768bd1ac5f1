// Shared pieces of the hook benchmarks: a real HookServer (from dist/, node:http, contract v1)
// with a trivial handler, a recording proxy that captures the exact bytes the hook sends, and the
// C client build.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { timeRun } from './measure.mjs'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const HOOK_BIN = join(ROOT, 'dist', 'hook', 'network-dra-hook')

/** A realistic OCI state as runc writes it for a createRuntime hook (compact, no newline). */
export const SAMPLE_STATE = JSON.stringify({
  ociVersion: '1.2.1',
  id: '4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
  status: 'creating',
  pid: 424242,
  bundle:
    '/run/containerd/io.containerd.runtime.v2.task/k8s.io/4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
  annotations: {
    'io.kubernetes.cri.container-type': 'sandbox',
    'io.kubernetes.cri.sandbox-id':
      '4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
    'io.kubernetes.cri.sandbox-name': 'demo-a',
    'io.kubernetes.cri.sandbox-namespace': 'default',
    'io.kubernetes.cri.sandbox-uid': '0c7a3b9e-1f2d-4e5a-9b8c-7d6e5f4a3b2c',
  },
})

/** Hook argv (after the executable) as the CDI spec writes it. */
export function hookArgs(socketPath, timeoutMs = 10_000) {
  return [
    'attach',
    '--claim',
    '0c7a3b9e-1f2d-4e5a-9b8c-7d6e5f4a3b2d',
    '--request',
    'net1',
    '--device',
    'attachment-0',
    '--socket',
    socketPath,
    '--timeout-ms',
    String(timeoutMs),
  ]
}

/** Start a real HookServer from dist/ whose handler answers at once. Returns {socketPath, stop, calls}. */
export async function startBenchServer() {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-bench-srv-'))
  const socketPath = join(dir, 'run', 'hook.sock')
  const { HookServer } = await import(
    pathToFileURL(join(ROOT, 'dist', 'src', 'attach', 'hook-server.js')).href
  )
  const { silentLogger } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'logger.js')).href)
  const stats = { calls: 0 }
  const server = new HookServer({
    socketPath,
    logger: silentLogger(),
    handler: {
      async attach() {
        stats.calls++
        return BENCH_REPLY
      },
    },
  })
  await server.start()
  return {
    socketPath,
    stats,
    async stop() {
      await server.stop(1000)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The reply the bench server gives: what a real attach answers. */
const BENCH_REPLY = {
  ok: true,
  message: 'attached',
  interfaceName: 'net1',
  ips: ['192.0.2.10/24'],
  mac: '02:00:00:00:00:01',
}

/**
 * Run `hookCmd` once through a recording proxy in front of `socketPath`; returns the client's
 * bytes: one HTTP/1.1 request with `Connection: close`, so a replay's reply ends with EOF.
 */
export async function captureHookWire(hookCmd, socketPath) {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-bench-cap-'))
  const proxyPath = join(dir, 'proxy.sock')
  const recorded = []
  const proxy = createServer(client => {
    const upstream = createConnection(socketPath)
    client.on('data', d => {
      recorded.push(Buffer.from(d))
      upstream.write(d)
    })
    upstream.on('data', d => client.write(d))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await new Promise(resolve => proxy.listen(proxyPath, resolve))
  try {
    const r = await timeRun(hookCmd, hookArgs(proxyPath), { stdin: SAMPLE_STATE })
    if (r.code !== 0) throw new Error(`hook failed through the capture proxy: ${r.stderr.trim()}`)
    const bytes = Buffer.concat(recorded)
    if (
      !/^POST [^\r\n]+ HTTP\/1\.1\r\n/.test(bytes.toString('latin1')) ||
      !/\r\nconnection: close\r\n/i.test(bytes.toString('latin1'))
    )
      throw new Error('the hook did not send one HTTP/1.1 request with Connection: close')
    return bytes
  } finally {
    proxy.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Compile scripts/bench/c-client.c with gcc -O2 into `outDir`; returns the binary path. */
export function buildCClient(outDir) {
  const bin = join(outDir, 'c-client')
  execFileSync('gcc', ['-O2', '-o', bin, join(ROOT, 'scripts', 'bench', 'c-client.c')], {
    stdio: 'inherit',
  })
  return bin
}

/** Write bytes to a file in `dir` and return its path. */
export function writeTemp(dir, name, bytes) {
  const p = join(dir, name)
  writeFileSync(p, bytes)
  return p
}
