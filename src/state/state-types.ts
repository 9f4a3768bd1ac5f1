/**
 * The shapes kept in the plugin's state file (`network-dra.state/v1`). One record per prepared
 * claim, holding its attachment plans and the attachments made on the hook path. Versioned: a
 * file of another `apiVersion` is an explicit error, never silently reset.
 */
import type { AttachmentPlan } from '../attach/attachment-plan.js'

export const STATE_API_VERSION = 'network-dra.state/v1' as const
export const STATE_KIND = 'PluginState' as const

/** Identity of the pod a sandbox belongs to, from the runtime's annotations. */
export interface PodIdentity {
  readonly sandboxId: string
  readonly podUid: string
  readonly podName: string
  readonly podNamespace: string
}

/** One CNI attachment made (or attempted) for (claim UID, request, sandbox id). */
export interface AttachmentRecord extends PodIdentity {
  readonly request: string
  readonly device: string
  /** The plan's share of a shared device (KEP-5075); absent for exclusive devices. */
  readonly shareID?: string
  readonly ifName: string
  /** Network namespace path used for ADD. */
  readonly netns: string
  /**
   * Identity (`<dev>:<inode>`) of that namespace at ADD time, so a later check is not fooled by a
   * reused `/proc/<pid>/ns/net` path. Absent in records written before it existed.
   */
  readonly netnsId?: string
  /** CNI network name (from the plan's config), to find the result cache entry. */
  readonly networkName: string
  readonly phase: 'attached' | 'failed'
  /** The CNI result (as the last plugin returned it) when attached. */
  readonly result?: Readonly<Record<string, unknown>>
  /** The failure message when failed. */
  readonly error?: string
  /** RFC 3339 time of the last change. */
  readonly updatedAt: string
}

/** A prepared claim. */
export interface ClaimRecord {
  readonly uid: string
  readonly namespace: string
  readonly name: string
  /** `pod.spec.resourceClaims[].name` when the claim was made from a template (metadata path). */
  readonly podClaimName?: string
  /** One plan per allocated device of this driver. */
  readonly plans: readonly AttachmentPlan[]
  /** CDI ids returned to the kubelet, per device (same order as plans). */
  readonly cdiDeviceIds: readonly string[]
  readonly attachments: readonly AttachmentRecord[]
  readonly preparedAt: string
}

/** The whole document on disk. */
export interface PluginState {
  readonly apiVersion: typeof STATE_API_VERSION
  readonly kind: typeof STATE_KIND
  readonly claims: Readonly<Record<string, ClaimRecord>>
}
