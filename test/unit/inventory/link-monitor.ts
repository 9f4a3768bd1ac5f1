// Invariant: the monitor runs exactly `ip -o monitor link`, turns every line into one event,
// restarts the child after restartDelayMs when it ends (with one catch-up event), and after stop()
// neither restarts nor reports. Each event carries the line's link name (undefined for the catch-up
// event: any link). The real spawner reports lines and the exit of a real process.
import t from 'tap'
import {
  LinkMonitor,
  parseLinkEvent,
  nodeLineSpawner,
  type LineSpawner,
} from '../../../src/inventory/link-monitor.js'
import { silentLogger } from '../../../src/logger.js'
import { FakeClock } from '../../fakes/kube-clock.js'

class FakeSpawner implements LineSpawner {
  readonly started: string[][] = []
  stopped = 0
  line: (l: string) => void = () => undefined
  exit: (r: string) => void = () => undefined
  spawn(
    file: string,
    args: readonly string[],
    onLine: (line: string) => void,
    onExit: (reason: string) => void,
  ) {
    this.started.push([file, ...args])
    this.line = onLine
    this.exit = onExit
    return {
      stop: () => {
        this.stopped++
      },
    }
  }
}

t.test('events, restart, stop', async t => {
  const clock = new FakeClock()
  const sp = new FakeSpawner()
  const names: (string | undefined)[] = []
  const events: unknown[] = []
  const m = new LinkMonitor({
    spawner: sp,
    clock,
    logger: silentLogger(),
    onEvent: ev => {
      names.push(ev?.name)
      events.push(ev)
    },
    ipPath: '/usr/bin/ip',
    restartDelayMs: 2_000,
  })
  m.start()
  t.same(sp.started, [['/usr/bin/ip', '-o', 'monitor', 'link']])
  sp.line('3: eth1: <BROADCAST> mtu 1500 state DOWN')
  sp.line('Deleted 4: veth9')
  t.same(names, ['eth1', 'veth9'], 'one event per line, with the link name')
  t.same(events, [
    { name: 'eth1', state: 'down', deleted: false },
    { name: 'veth9', state: '', deleted: true },
  ])
  t.equal(m.events, 2)
  sp.exit('exited with code 1')
  await clock.advance(1_999)
  t.equal(sp.started.length, 1, 'not restarted before the delay')
  await clock.advance(1)
  t.equal(sp.started.length, 2, 'restarted')
  t.same(names.slice(2), [undefined], 'catch-up event after restart: any link')
  m.stop()
  t.equal(sp.stopped, 1, 'child stopped')
  sp.exit('killed by SIGTERM')
  await clock.advance(10_000)
  t.equal(sp.started.length, 2, 'no restart after stop')
})

t.test('stop during the restart delay cancels it', async t => {
  const clock = new FakeClock()
  const sp = new FakeSpawner()
  const m = new LinkMonitor({
    spawner: sp,
    clock,
    logger: silentLogger(),
    onEvent: () => undefined,
  })
  m.start()
  t.same(sp.started[0], ['ip', '-o', 'monitor', 'link'], 'default ip from PATH')
  sp.exit('exited with code 1')
  m.stop()
  await clock.advance(60_000)
  t.equal(sp.started.length, 1)
})

t.test('real spawner: lines and exit of a real process', async t => {
  const lines: string[] = []
  const reason = await new Promise<string>(resolve => {
    nodeLineSpawner.spawn(
      '/bin/sh',
      ['-c', 'echo one; echo two; exit 3'],
      l => lines.push(l),
      resolve,
    )
  })
  t.same(lines, ['one', 'two'])
  t.equal(reason, 'exited with code 3')
  const missing = await new Promise<string>(resolve => {
    nodeLineSpawner.spawn('/nonexistent/ip', [], () => undefined, resolve)
  })
  t.match(missing, /ENOENT/)
  let ended = false
  const p = nodeLineSpawner.spawn(
    '/bin/sleep',
    ['30'],
    () => undefined,
    () => {
      ended = true
    },
  )
  p.stop()
  await new Promise(r => setTimeout(r, 100))
  t.equal(ended, false, 'a stop is not reported as an end')
})

// The lines `ip -o monitor link` prints (iproute2 6.x, as seen on this machine), and lines that are
// not link messages: name, operstate and deletion are what listeners filter on; undefined means
// "cannot tell".
const lines: [string, ReturnType<typeof parseLinkEvent>][] = [
  [
    '7901: ndra-tst0@ndra-tst0p: <NO-CARRIER,UP,M-DOWN> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default',
    { name: 'ndra-tst0', state: 'lowerlayerdown', deleted: false },
  ],
  [
    '7900: ndra-tst0p@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN',
    { name: 'ndra-tst0p', state: 'down', deleted: false },
  ],
  [
    'Deleted 7901: ndra-tst0@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN',
    { name: 'ndra-tst0', state: 'down', deleted: true },
  ],
  [
    '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP mode DEFAULT',
    { name: 'eth0', state: 'up', deleted: false },
  ],
  ['12: br-ndra.1: <NO-CARRIER> mtu 1500', { name: 'br-ndra.1', state: '', deleted: false }],
  ['', undefined],
  ['garbage line', undefined],
]
for (const [line, want] of lines) {
  t.test(`parseLinkEvent ${JSON.stringify(line.slice(0, 24))}`, async t => {
    t.same(parseLinkEvent(line), want)
  })
}
