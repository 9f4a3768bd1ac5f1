// Invariant: a link event re-reads the inventory only for a name it may offer, and wakes health
// only when health says the event changes something a device depends on (asked for every event, so
// it keeps each link's last state); an event that cannot be told wakes both; with no inventory
// (no host links offered) only health is considered.
import t from 'tap'
import { routeLinkEvent } from '../../../src/driver/link-events.js'
import type { LinkEvent } from '../../../src/inventory/link-monitor.js'

const ev = (name: string, state = 'up', deleted = false): LinkEvent => ({ name, state, deleted })

const cases: {
  name: string
  event: LinkEvent | undefined
  offers: boolean
  changes: boolean
  inventory?: false
  want: string[]
}[] = [
  {
    name: 'unknown event: both',
    event: undefined,
    offers: false,
    changes: false,
    want: ['watcher', 'health'],
  },
  {
    name: 'an offered name that changed',
    event: ev('eth1', 'down'),
    offers: true,
    changes: true,
    want: ['watcher', 'changes:eth1', 'health'],
  },
  {
    name: "another pod's veth",
    event: ev('veth1a2b'),
    offers: false,
    changes: false,
    want: ['changes:veth1a2b'],
  },
  {
    name: 'a parent whose state did not change',
    event: ev('ens5'),
    offers: false,
    changes: false,
    want: ['changes:ens5'],
  },
  {
    name: 'an offered name, health unchanged',
    event: ev('eth1'),
    offers: true,
    changes: false,
    want: ['watcher', 'changes:eth1'],
  },
  {
    name: 'no inventory: health only',
    event: ev('eth1', 'down'),
    offers: true,
    changes: true,
    inventory: false,
    want: ['changes:eth1', 'health'],
  },
]

for (const c of cases) {
  t.test(c.name, async t => {
    const calls: string[] = []
    routeLinkEvent(c.event, {
      ...(c.inventory === false ? {} : { inventory: { mayOffer: () => c.offers } }),
      ...(c.inventory === false ? {} : { watcher: { wake: () => calls.push('watcher') } }),
      health: {
        changes: e => {
          calls.push(`changes:${e.name}`)
          return c.changes
        },
        wake: () => calls.push('health'),
      },
    })
    t.same(calls, c.want)
  })
}
