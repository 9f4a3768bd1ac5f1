/**
 * The CDI spec document (CDI SPEC.md, specs-go/config.go), as the subset of fields this driver
 * reasons about. Shared by the writer and the minimum-version computation so both agree on shape.
 */

/** OCI lifecycle stages a CDI hook may attach to (pkg/cdi/container-edits.go). */
export type CdiHookName =
  'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop'

/** An OCI hook injected into the container config; `args[0]` is argv0, `timeout` is seconds. */
export interface CdiHook {
  readonly hookName: CdiHookName
  readonly path: string
  readonly args?: readonly string[]
  readonly env?: readonly string[]
  readonly timeout?: number
}

/** A device node edit; `hostPath` needs cdiVersion 0.5.0. */
export interface CdiDeviceNode {
  readonly path: string
  readonly hostPath?: string
  readonly type?: string
  readonly major?: number
  readonly minor?: number
  readonly fileMode?: number
  readonly permissions?: string
  readonly uid?: number
  readonly gid?: number
}

/** A mount edit; a non-empty `type` needs cdiVersion 0.4.0. */
export interface CdiMount {
  readonly hostPath: string
  readonly containerPath: string
  readonly type?: string
  readonly options?: readonly string[]
}

/** Intel RDT edit (0.7.0); `schemata` / `enableMonitoring` need 1.1.0. */
export interface CdiIntelRdt {
  readonly closID?: string
  readonly l3CacheSchema?: string
  readonly memBwSchema?: string
  readonly schemata?: readonly string[]
  readonly enableMonitoring?: boolean
}

/** A network device moved into the container (1.1.0 only). */
export interface CdiNetDevice {
  readonly hostInterfaceName: string
  readonly name: string
}

/** Edits applied to the OCI config when a device is injected. */
export interface CdiContainerEdits {
  readonly env?: readonly string[]
  readonly deviceNodes?: readonly CdiDeviceNode[]
  readonly mounts?: readonly CdiMount[]
  readonly hooks?: readonly CdiHook[]
  readonly intelRdt?: CdiIntelRdt
  readonly additionalGids?: readonly number[]
  readonly netDevices?: readonly CdiNetDevice[]
}

/** One device of a spec; its fully-qualified name is `<kind>=<name>`. */
export interface CdiDevice {
  readonly name: string
  readonly annotations?: Readonly<Record<string, string>>
  readonly containerEdits: CdiContainerEdits
}

/** A whole CDI spec file. */
export interface CdiSpec {
  readonly cdiVersion: string
  readonly kind: string
  readonly annotations?: Readonly<Record<string, string>>
  readonly devices: readonly CdiDevice[]
  readonly containerEdits?: CdiContainerEdits
}
