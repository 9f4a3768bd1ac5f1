/**
 * Where a node link event goes (the daemon's wiring, one place so tests drive the same rule): the
 * host-link inventory is re-read when the link's name is one it may offer, and device health
 * re-probes when a link a device depends on appeared, vanished or changed state. An event that
 * cannot be told (the monitor restarted) wakes both. Everything else — a veth per pod of the
 * cluster network, a macvlan child added to a parent that stays up — wakes nothing.
 */
import type { LinkEvent } from '../inventory/link-monitor.js'

/** The listeners of link events (HostLinkInventory, HostLinkWatcher, DeviceHealthMonitor). */
export interface LinkEventTargets {
  readonly inventory?: { mayOffer(name: string): boolean } | undefined
  readonly watcher?: { wake(): void } | undefined
  readonly health: { changes(event: LinkEvent): boolean; wake(): void }
}

/** Wake what `event` concerns (see the module header). */
export function routeLinkEvent(event: LinkEvent | undefined, to: LinkEventTargets): void {
  if (event === undefined || to.inventory?.mayOffer(event.name) === true) to.watcher?.wake()
  // changes() also records the link's state, so it runs for every event.
  if (event === undefined || to.health.changes(event)) to.health.wake()
}
