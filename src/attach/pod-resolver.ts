/**
 * Resolves which pod (sandbox) a container belongs to and which network namespace to attach into,
 * from the OCI state a createRuntime hook receives (id, pid, bundle, annotations) plus the bundle's
 * `config.json`. Attach is keyed by sandbox id, so this is what makes the hook idempotent across
 * the containers of one pod.
 *
 * Runtimes:
 * - containerd CRI: `io.kubernetes.cri.sandbox-id`, `…sandbox-uid`, `…sandbox-name`,
 *   `…sandbox-namespace`, `…container-type` (containerd `pkg/cri/annotations`).
 * - CRI-O: `io.kubernetes.cri-o.SandboxID`, `…ContainerType`; pod identity from the kubelet labels
 *   CRI-O copies into the spec (`io.kubernetes.pod.uid`, `…pod.name`, `…pod.namespace`), with
 *   `io.kubernetes.cri-o.Namespace` as a fallback for the namespace.
 * - Anything else (podman, plain runc): the container is its own sandbox — sandbox id = container
 *   id, pod uid/name/namespace empty. The attacher then treats the sandbox id as the pod's key, so
 *   two such containers are two different "pods".
 *
 * State annotations win over `config.json` annotations (they are the same map under runc; the file
 * is only read for what the state lacks).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DriverError, errorMessage } from '../errors.js'
import type { PodIdentity } from '../state/state-types.js'
import type { OciState } from './hook-server.js'
import type { NetnsProbe } from './attach-netns-probe.js'

/** containerd CRI annotation keys (containerd `pkg/cri/annotations/annotations.go`). */
export const CONTAINERD_ANNOTATIONS = {
  containerType: 'io.kubernetes.cri.container-type',
  sandboxId: 'io.kubernetes.cri.sandbox-id',
  sandboxUid: 'io.kubernetes.cri.sandbox-uid',
  sandboxName: 'io.kubernetes.cri.sandbox-name',
  sandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
} as const

/** CRI-O annotation keys (cri-o `pkg/annotations`) and the kubelet pod labels it copies. */
export const CRIO_ANNOTATIONS = {
  containerType: 'io.kubernetes.cri-o.ContainerType',
  sandboxId: 'io.kubernetes.cri-o.SandboxID',
  namespace: 'io.kubernetes.cri-o.Namespace',
  podUid: 'io.kubernetes.pod.uid',
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
} as const

/** Which runtime convention identified the pod. */
export type PodRuntimeKind = 'containerd' | 'cri-o' | 'none'

/** The pod a container belongs to and where its network lives. */
export interface ResolvedPod extends PodIdentity {
  readonly runtime: PodRuntimeKind
  /** `sandbox`, `container`, or '' when the runtime does not say. */
  readonly containerType: string
  /** Network namespace path to give CNI (`CNI_NETNS`). */
  readonly netns: string
  /** Identity of that namespace (`<dev>:<inode>`), recorded so later checks survive pid reuse. */
  readonly netnsId: string
}

/** The little file access the resolver needs; injected so unit tests need no real bundle. */
export interface PodResolverFs {
  /** Read a UTF-8 file; rejects with an error carrying `code: 'ENOENT'` when it is missing. */
  readFile(path: string): Promise<string>
}

/** Real filesystem access. */
export const nodePodResolverFs: PodResolverFs = {
  readFile: path => readFile(path, 'utf8'),
}

interface BundleConfig {
  readonly annotations: Record<string, string>
  /** `undefined` = no network namespace entry (host network); '' = new netns, no path. */
  readonly netnsPath: string | undefined
  readonly found: boolean
}

/** Turns OCI state into a pod identity and a netns path; fails with NDRA_POD_RESOLVE / NDRA_NETNS. */
export class PodResolver {
  readonly #fs: PodResolverFs
  readonly #probe: NetnsProbe
  readonly #hostNetnsPath: string

  constructor(opts: { fs?: PodResolverFs; probe: NetnsProbe; hostNetnsPath?: string }) {
    this.#fs = opts.fs ?? nodePodResolverFs
    this.#probe = opts.probe
    this.#hostNetnsPath = opts.hostNetnsPath ?? '/proc/1/ns/net'
  }

  /** Resolve the pod and netns of the container described by `state`. */
  async resolve(state: OciState): Promise<ResolvedPod> {
    if (typeof state.id !== 'string' || state.id === '') {
      throw new DriverError('NDRA_POD_RESOLVE', 'OCI state has no container id')
    }
    const bundle = await this.#readBundle(state.bundle)
    const annotations = { ...bundle.annotations, ...(state.annotations ?? {}) }
    const identity = identityFromAnnotations(state.id, annotations)
    const { netns, netnsId } = await this.#resolveNetns(state, bundle)
    return { ...identity, netns, netnsId }
  }

  async #readBundle(bundle: string): Promise<BundleConfig> {
    if (typeof bundle !== 'string' || bundle === '') {
      return { annotations: {}, netnsPath: '', found: false }
    }
    const path = join(bundle, 'config.json')
    let text: string
    try {
      text = await this.#fs.readFile(path)
    } catch (err: unknown) {
      if (isEnoent(err)) return { annotations: {}, netnsPath: '', found: false }
      throw new DriverError('NDRA_POD_RESOLVE', `cannot read ${path}: ${errorMessage(err)}`, {
        cause: err,
      })
    }
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (err: unknown) {
      throw new DriverError('NDRA_POD_RESOLVE', `${path} is not valid JSON: ${errorMessage(err)}`, {
        cause: err,
      })
    }
    return { ...parseBundleConfig(doc), found: true }
  }

  async #resolveNetns(
    state: OciState,
    bundle: BundleConfig,
  ): Promise<{ netns: string; netnsId: string }> {
    if (bundle.found && bundle.netnsPath === undefined) {
      throw new DriverError(
        'NDRA_NETNS',
        `container ${state.id} shares the host network namespace (no network namespace in its config.json); refusing to attach a claim network to the host`,
      )
    }
    const pidPath =
      typeof state.pid === 'number' && state.pid > 0 ? `/proc/${state.pid}/ns/net` : undefined
    const candidates = [bundle.netnsPath, pidPath].filter(
      (p): p is string => typeof p === 'string' && p !== '',
    )
    if (candidates.length === 0) {
      throw new DriverError(
        'NDRA_NETNS',
        `container ${state.id}: no network namespace path in config.json and no pid in the OCI state`,
      )
    }
    const hostId = await this.#probe.identify(this.#hostNetnsPath)
    for (const path of candidates) {
      const id = await this.#probe.identify(path)
      if (id === undefined) continue
      if (hostId !== undefined && id === hostId) {
        throw new DriverError(
          'NDRA_NETNS',
          `container ${state.id}: ${path} is the host network namespace; refusing to attach a claim network to the host`,
        )
      }
      return { netns: path, netnsId: id }
    }
    throw new DriverError(
      'NDRA_NETNS',
      `container ${state.id}: network namespace not found (tried ${candidates.join(', ')})`,
    )
  }
}

/** Pod identity from runtime annotations; the documented fallback when none are present. */
export function identityFromAnnotations(
  containerId: string,
  a: Readonly<Record<string, string>>,
): PodIdentity & { runtime: PodRuntimeKind; containerType: string } {
  const C = CONTAINERD_ANNOTATIONS
  const O = CRIO_ANNOTATIONS
  const containerdSandbox = a[C.sandboxId]
  if (containerdSandbox !== undefined && containerdSandbox !== '') {
    return {
      runtime: 'containerd',
      containerType: a[C.containerType] ?? '',
      sandboxId: containerdSandbox,
      podUid: a[C.sandboxUid] ?? '',
      podName: a[C.sandboxName] ?? '',
      podNamespace: a[C.sandboxNamespace] ?? '',
    }
  }
  const crioSandbox = a[O.sandboxId]
  if (crioSandbox !== undefined && crioSandbox !== '') {
    return {
      runtime: 'cri-o',
      containerType: a[O.containerType] ?? '',
      sandboxId: crioSandbox,
      podUid: a[O.podUid] ?? '',
      podName: a[O.podName] ?? '',
      podNamespace: a[O.podNamespace] ?? a[O.namespace] ?? '',
    }
  }
  return {
    runtime: 'none',
    containerType: '',
    sandboxId: containerId,
    podUid: '',
    podName: '',
    podNamespace: '',
  }
}

function parseBundleConfig(doc: unknown): Omit<BundleConfig, 'found'> {
  const root = isRecord(doc) ? doc : {}
  const annotations: Record<string, string> = {}
  if (isRecord(root.annotations)) {
    for (const [k, v] of Object.entries(root.annotations)) {
      if (typeof v === 'string') annotations[k] = v
    }
  }
  const linux = isRecord(root.linux) ? root.linux : {}
  const namespaces = Array.isArray(linux.namespaces) ? (linux.namespaces as unknown[]) : []
  const net = namespaces.find(ns => isRecord(ns) && ns.type === 'network')
  let netnsPath: string | undefined
  if (isRecord(net)) netnsPath = typeof net.path === 'string' ? net.path : ''
  return { annotations, netnsPath }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isEnoent(err: unknown): boolean {
  return isRecord(err) && err.code === 'ENOENT'
}
