/**
 * The lowest `cdiVersion` a spec's content needs, mirroring CDI's `MinimumRequiredVersion`
 * (specs-go/version.go). Emitting the lowest version keeps a spec loadable by the oldest runtimes
 * (containerd 1.7.0 and podman 4.3 accept at most 0.5.0), so it is computed, never hard-coded.
 */
import type { CdiContainerEdits, CdiSpec } from './cdi-spec.js'

/** Versions this driver can emit, oldest first; 0.3.0 is CDI's floor for computed minimums. */
export const CDI_VERSIONS = [
  '0.3.0',
  '0.4.0',
  '0.5.0',
  '0.6.0',
  '0.7.0',
  '0.8.0',
  '1.0.0',
  '1.1.0',
] as const

/** A cdiVersion this driver knows. */
export type CdiVersion = (typeof CDI_VERSIONS)[number]

/** One feature gate: the version it needs and whether the spec uses it. */
interface VersionRule {
  readonly version: CdiVersion
  readonly uses: (spec: CdiSpec) => boolean
}

/** Container edits of the spec itself and of every device. */
function allEdits(spec: CdiSpec): CdiContainerEdits[] {
  const edits = spec.devices.map(d => d.containerEdits)
  return spec.containerEdits ? [spec.containerEdits, ...edits] : edits
}

function anyEdits(spec: CdiSpec, pred: (e: CdiContainerEdits) => boolean): boolean {
  return allEdits(spec).some(pred)
}

function hasEntries(obj: Readonly<Record<string, string>> | undefined): boolean {
  return obj !== undefined && Object.keys(obj).length > 0
}

/** The class part of `vendor/class` (everything after the first `/`). */
function kindClass(kind: string): string {
  const slash = kind.indexOf('/')
  return slash < 0 ? '' : kind.slice(slash + 1)
}

// Newest first: the first rule a spec uses decides the answer.
const RULES: readonly VersionRule[] = [
  {
    version: '1.1.0',
    uses: s =>
      anyEdits(
        s,
        e =>
          (e.netDevices?.length ?? 0) > 0 ||
          (e.intelRdt?.schemata?.length ?? 0) > 0 ||
          e.intelRdt?.enableMonitoring === true,
      ),
  },
  {
    version: '0.7.0',
    uses: s => anyEdits(s, e => e.intelRdt !== undefined || (e.additionalGids?.length ?? 0) > 0),
  },
  {
    version: '0.6.0',
    uses: s =>
      hasEntries(s.annotations) ||
      s.devices.some(d => hasEntries(d.annotations)) ||
      kindClass(s.kind).includes('.'),
  },
  {
    version: '0.5.0',
    uses: s =>
      s.devices.some(d => /^[0-9]/.test(d.name)) ||
      anyEdits(s, e => (e.deviceNodes ?? []).some(n => (n.hostPath ?? '') !== '')),
  },
  {
    version: '0.4.0',
    uses: s => anyEdits(s, e => (e.mounts ?? []).some(m => (m.type ?? '') !== '')),
  },
]

/** The lowest cdiVersion whose format covers everything `spec` uses (its own cdiVersion is ignored). */
export function minimumCdiVersion(spec: CdiSpec): CdiVersion {
  return RULES.find(r => r.uses(spec))?.version ?? CDI_VERSIONS[0]
}
