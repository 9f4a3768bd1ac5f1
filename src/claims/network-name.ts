/**
 * The CNI network name libcni and IPAM see (issue 7 contract §6). The driver derives it and never
 * runs a network under the name a tenant wrote: host-local keeps its reservations in
 * `/var/lib/cni/networks/<name>` and libcni keys its result cache by `<name>-<container>-<if>`, so a
 * tenant network called `cbr0` would otherwise share state with the cluster's pod network.
 *
 * - admin network (from a DeviceClass): `ndra.class.<network.name>`
 * - tenant network (from a claim): `ndra.ns.<namespace>.<network.name>`
 *
 * Tenant names have no dots (`TENANT_NETWORK_NAME_RE`, rule `network-name`, network-rules.ts), so
 * `ndra.ns.a.b` has exactly one reading. Claims of one namespace
 * with the same network name share host-local state (distinct addresses); nothing is shared across
 * namespaces, with the cluster network or with another CNI user. Start-up GC and recovery touch only
 * names with {@link DRIVER_NETWORK_PREFIX}.
 */
import type { ConfigSource } from './policy.js'

/** Every network name the driver runs starts with this; nothing else is ours to GC. */
export const DRIVER_NETWORK_PREFIX = 'ndra.'

/** Where a network was written and by whom, the inputs of {@link derivedNetworkName}. */
export interface NetworkOrigin {
  readonly source: ConfigSource
  /** Namespace of the claim (used for tenant networks only). */
  readonly namespace: string
  /** `network.name` as written in the CNIConfig. */
  readonly name: string
}

/** The name the plugins, the result cache and IPAM see for a network of this origin. */
export function derivedNetworkName(o: NetworkOrigin): string {
  return o.source === 'class'
    ? `${DRIVER_NETWORK_PREFIX}class.${o.name}`
    : `${DRIVER_NETWORK_PREFIX}ns.${o.namespace}.${o.name}`
}

/** True when a network name is one the driver derived, so start-up GC may touch its state. */
export function isDriverNetworkName(name: string): boolean {
  return name.startsWith(DRIVER_NETWORK_PREFIX)
}
