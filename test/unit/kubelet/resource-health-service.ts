// Invariant: over a real Unix socket, NodeWatchResources on both v1 and v1alpha1 streams the full
// device list at once and again on every report of the source, with the pool/device identity,
// health enum, report time, validity and message on the wire; a cancelled stream unsubscribes, and
// close() ends every stream.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { ClientReadableStream, MethodDefinition } from '@grpc/grpc-js'
import type { DeviceHealth } from '../../../src/health/device-health.js'
import { silentLogger } from '../../../src/logger.js'
import { loadKubeletProtos } from '../../../src/kubelet/protos.js'
import {
  ResourceHealthService,
  toWatchResponse,
  type DeviceHealthSource,
} from '../../../src/kubelet/resource-health-service.js'
import { unixClient } from '../../../src/kubelet/unary-call.js'
import { UnixGrpcServer } from '../../../src/kubelet/unix-grpc-server.js'

const protos = loadKubeletProtos()

class Source implements DeviceHealthSource {
  list: DeviceHealth[] = [{ pool: 'n1', device: 'attachment-0', health: 'HEALTHY', message: '' }]
  readonly listeners = new Set<(d: readonly DeviceHealth[]) => void>()
  current(): readonly DeviceHealth[] {
    return this.list
  }
  subscribe(l: (d: readonly DeviceHealth[]) => void): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }
  emit(list: DeviceHealth[]): void {
    this.list = list
    for (const l of this.listeners) l(list)
  }
}

interface Msg {
  devices: {
    device: { poolName: string; deviceName: string }
    health: string
    lastUpdatedTime: string
    healthCheckTimeoutSeconds: string
    message: string
  }[]
}

/** Reads messages from a stream into a queue. */
function reader(stream: ClientReadableStream<unknown>): {
  next: () => Promise<Msg>
  ended: Promise<string>
} {
  const queue: Msg[] = []
  const waiting: ((m: Msg) => void)[] = []
  stream.on('data', (m: Msg) => {
    const w = waiting.shift()
    if (w) w(m)
    else queue.push(m)
  })
  const ended = new Promise<string>(resolve => {
    stream.on('end', () => {
      resolve('end')
    })
    stream.on('error', (e: Error) => {
      resolve(`error: ${e.message}`)
    })
  })
  return {
    next: () => {
      const m = queue.shift()
      return m ? Promise.resolve(m) : new Promise(r => waiting.push(r))
    },
    ended,
  }
}

t.test('streams on v1 and v1alpha1', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'ndra-rh-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const source = new Source()
  const svc = new ResourceHealthService({
    source,
    logger: silentLogger(),
    timeoutSeconds: 30,
    now: () => 1_767_000_000_500,
  })
  const server = new UnixGrpcServer({ socketPath: join(dir, 'dra.sock'), logger: silentLogger() })
  server.addService(protos.draHealthV1, svc.implementation())
  server.addService(protos.draHealthV1alpha1, svc.implementation())
  await server.start()
  t.teardown(() => server.stop(100))
  const client = unixClient(join(dir, 'dra.sock'))
  t.teardown(() => {
    client.close()
  })
  const open = (def: typeof protos.draHealthV1) => {
    const m = def.NodeWatchResources as MethodDefinition<unknown, unknown>
    return client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {})
  }
  for (const [name, def] of [
    ['v1', protos.draHealthV1],
    ['v1alpha1', protos.draHealthV1alpha1],
  ] as const) {
    const stream = open(def)
    const r = reader(stream)
    t.same(
      await r.next(),
      {
        devices: [
          {
            device: { poolName: 'n1', deviceName: 'attachment-0' },
            health: 'HEALTHY',
            lastUpdatedTime: '1767000000',
            healthCheckTimeoutSeconds: '30',
            message: '',
          },
        ],
      },
      `${name}: full list at once`,
    )
    source.emit([
      {
        pool: 'n1',
        device: 'attachment-0',
        health: 'UNHEALTHY',
        message: 'interface net1 is gone',
      },
      { pool: 'n1', device: 'host-eth1', health: 'UNKNOWN', message: 'x' },
    ])
    const second = await r.next()
    t.same(
      second.devices.map(d => [d.device.deviceName, d.health, d.message]),
      [
        ['attachment-0', 'UNHEALTHY', 'interface net1 is gone'],
        ['host-eth1', 'UNKNOWN', 'x'],
      ],
      `${name}: report forwarded`,
    )
    t.equal(svc.streams, 1, `${name}: one stream`)
    stream.cancel()
    await r.ended
    // The server learns of the cancel asynchronously: wait for it (bounded), then assert.
    for (let i = 0; i < 100 && svc.streams > 0; i++) await new Promise(res => setTimeout(res, 20))
    t.equal(svc.streams, 0, `${name}: cancelled stream dropped`)
    t.equal(source.listeners.size, 0, `${name}: unsubscribed`)
    source.list = [{ pool: 'n1', device: 'attachment-0', health: 'HEALTHY', message: '' }]
  }
  const last = reader(open(protos.draHealthV1))
  await last.next()
  svc.close()
  t.equal(await last.ended, 'end', 'close() ends the stream')
  t.equal(source.listeners.size, 0)
})

t.test('toWatchResponse', async t => {
  t.same(toWatchResponse([], 5_999, 30), { devices: [] })
  t.same(toWatchResponse([{ pool: 'p', device: 'd', health: 'HEALTHY', message: '' }], 5_999, 7), {
    devices: [
      {
        device: { poolName: 'p', deviceName: 'd' },
        health: 'HEALTHY',
        lastUpdatedTime: 5,
        healthCheckTimeoutSeconds: 7,
        message: '',
      },
    ],
  })
})
