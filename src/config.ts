/**
 * Daemon configuration: every option is a `commander` flag with a same-named env twin
 * (`--cdi-root` ↔ `CDI_ROOT`). Defaults live here and only here (the Helm chart sets a value only
 * when the user did). Everything is checked at start and all problems are reported at once in one
 * `InvalidConfigError`; the result is a frozen object passed down explicitly.
 */
import { isAbsolute } from 'node:path'
import { Command, Option } from 'commander'
import { InvalidConfigError } from './errors.js'
import type { LogLevel } from './logger.js'
import { METADATA_VERSIONS, type MetadataVersion } from './metadata/device-metadata.js'
import { parseSharedHostLinks, type SharedLinkRule } from './slices/shared-host-links.js'

/** The validated, frozen daemon configuration. */
export interface Config {
  readonly driverName: string
  readonly nodeName: string
  /** Plugin pod UID; non-empty selects rolling-update socket names. */
  readonly podUid: string
  /** Empty means in-cluster configuration. */
  readonly kubeconfig: string
  readonly kubeletRegistrarDir: string
  readonly kubeletPluginsDir: string
  readonly cdiRoot: string
  readonly stateDir: string
  readonly hookSocket: string
  readonly hookPath: string
  readonly hookTimeoutSeconds: number
  readonly cniBinDirs: readonly string[]
  readonly cniCacheDir: string
  readonly cniPluginTimeoutSeconds: number
  /**
   * Where the node's root filesystem is mounted; `/` = run plugins directly, anything else = find
   * them below it and run them chrooted into it (src/cni/host-root-exec.ts).
   */
  readonly cniHostRoot: string
  readonly attachmentSlots: number
  /** Empty means no host-interface devices are published. */
  readonly hostInterfaces: string
  /**
   * Effect of the `<driver>/link-down` taint (KEP-5055) on a host-interface device whose link is
   * down; `off` = no taint.
   */
  readonly hostLinkDownTaint: 'NoSchedule' | 'NoExecute' | 'off'
  /**
   * Host links published as one shareable device each (KEP-5075), with their capacity in children;
   * empty = none. A link matching a rule is published only as its shared device.
   */
  readonly sharedHostLinks: readonly SharedLinkRule[]
  /** Empty means the built-in policy. */
  readonly policyFile: string
  /** `host:port` for /metrics, /healthz, /readyz; empty disables the HTTP server. */
  readonly httpAddress: string
  /** Unix socket serving /healthz and /readyz of this instance only (probes); empty = none. */
  readonly healthSocket: string
  /** Seconds between claim-status reconcile passes; 0 = only at start. */
  readonly statusResyncSeconds: number
  readonly logLevel: LogLevel
  readonly prepareConcurrency: number
  /**
   * KEP-5304 DeviceMetadata versions written into each claim request's metadata file, newest
   * first; empty = the feature is off. Files live in `<stateDir>/dra-device-metadata`.
   */
  readonly deviceMetadataVersions: readonly MetadataVersion[]
}

interface OptionSpec {
  readonly flag: string
  readonly env: string
  readonly def: string
  readonly help: string
}

/** Flag table: the one place that names options, env twins and defaults. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'driver-name',
    env: 'DRIVER_NAME',
    def: 'network-dra.dev',
    help: 'DRA driver name (ResourceSlice spec.driver, CDI vendor)',
  },
  {
    flag: 'node-name',
    env: 'NODE_NAME',
    def: '',
    help: 'name of this node; also the device pool name (required)',
  },
  {
    flag: 'pod-uid',
    env: 'POD_UID',
    def: '',
    help: 'UID of the plugin pod; when set, socket names carry it so two instances can run during a rolling update',
  },
  {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    def: '',
    help: 'kubeconfig file; empty = in-cluster service account',
  },
  {
    flag: 'kubelet-registrar-dir',
    env: 'KUBELET_REGISTRAR_DIR',
    def: '/var/lib/kubelet/plugins_registry',
    help: 'kubelet plugin registration directory',
  },
  {
    flag: 'kubelet-plugins-dir',
    env: 'KUBELET_PLUGINS_DIR',
    def: '/var/lib/kubelet/plugins',
    help: 'kubelet plugins directory; the DRA socket is <dir>/<driver>/dra.sock',
  },
  {
    flag: 'cdi-root',
    env: 'CDI_ROOT',
    def: '/var/run/cdi',
    help: 'directory for CDI spec files (must be one the container runtime reads)',
  },
  {
    flag: 'state-dir',
    env: 'STATE_DIR',
    def: '/var/lib/network-dra',
    help: 'directory of the state file and its lock',
  },
  {
    flag: 'hook-socket',
    env: 'HOOK_SOCKET',
    def: '/run/network-dra/hook.sock',
    help: 'hook API socket; its directory is made root-only (0700)',
  },
  {
    flag: 'hook-path',
    env: 'HOOK_PATH',
    def: '/opt/network-dra/bin/network-dra-hook',
    help: 'host path of the hook executable written into CDI specs',
  },
  {
    flag: 'hook-timeout',
    env: 'HOOK_TIMEOUT',
    def: '60',
    help: 'CDI hook timeout in seconds (runc kills the hook after it); the hook gives up 2 s earlier. Long enough to wait out a plugin restart (crash-loop back-off included), well inside the kubelet runtime request timeout (2 min)',
  },
  {
    flag: 'cni-bin-dirs',
    env: 'CNI_BIN_DIRS',
    def: '/opt/cni/bin:/usr/lib/cni',
    help: 'colon-separated CNI plugin search path',
  },
  {
    flag: 'cni-cache-dir',
    env: 'CNI_CACHE_DIR',
    def: '/var/lib/cni',
    help: 'CNI result cache root (libcni layout)',
  },
  {
    flag: 'cni-plugin-timeout',
    env: 'CNI_PLUGIN_TIMEOUT',
    def: '20',
    help: 'seconds one CNI plugin run may take before it is killed',
  },
  {
    flag: 'cni-host-root',
    env: 'CNI_HOST_ROOT',
    def: '/',
    help: "directory where the node's root filesystem is mounted; CNI plugins are found below it and run chrooted into it (/ = run them directly)",
  },
  {
    flag: 'attachment-slots',
    env: 'ATTACHMENT_SLOTS',
    def: '128',
    help: 'number of attachment-slot devices published for this node (1..4096)',
  },
  {
    flag: 'host-interfaces',
    env: 'HOST_INTERFACES',
    def: '',
    help: 'regular expression of host link names to publish as devices; empty = none',
  },
  {
    flag: 'host-link-down-taint',
    env: 'HOST_LINK_DOWN_TAINT',
    def: 'NoSchedule',
    help: 'effect of the <driver>/link-down taint on a host-interface device whose link is down: NoSchedule (no new allocations), NoExecute (also evicts pods using it) or off',
  },
  {
    flag: 'shared-host-links',
    env: 'SHARED_HOST_LINKS',
    def: '',
    help: 'host links shared by consumable capacity (KEP-5075), a JSON list of {"pattern": "<regular expression of link names>", "capacity": <children per link>}: each matching link is ONE device that up to <capacity> claims get a macvlan/ipvlan/vlan child of (instead of an exclusive host-interface device); empty = none. Where the apiserver drops allowMultipleAllocations (DRAConsumableCapacity off, 1.35) they are published as exclusive host-interface devices',
  },
  {
    flag: 'policy-file',
    env: 'POLICY_FILE',
    def: '',
    help: 'admin policy file (JSON or YAML); empty = built-in defaults',
  },
  {
    flag: 'http-address',
    env: 'HTTP_ADDRESS',
    def: ':9465',
    help: 'address for /metrics, /healthz and /readyz; empty = disabled',
  },
  {
    flag: 'health-socket',
    env: 'HEALTH_SOCKET',
    def: '',
    help: 'Unix socket serving /healthz and /readyz of this instance (for exec probes; a per-pod path, so two instances of a rolling update never answer for each other); empty = none',
  },
  {
    flag: 'status-resync',
    env: 'STATUS_RESYNC',
    def: '60',
    help: "seconds between passes that re-derive every held claim's status.devices from the state file and fix differences (0 = only at start)",
  },
  { flag: 'log-level', env: 'LOG_LEVEL', def: 'info', help: 'trace, debug, info, warn or error' },
  {
    flag: 'prepare-concurrency',
    env: 'PREPARE_CONCURRENCY',
    def: '4',
    help: 'claims of one NodePrepareResources batch prepared at once (1..64)',
  },
  {
    flag: 'device-metadata',
    env: 'DEVICE_METADATA',
    def: METADATA_VERSIONS.join(','),
    help: `KEP-5304 device metadata files in containers: DeviceMetadata versions to write, newest first (${METADATA_VERSIONS.join(', ')}), or "off"`,
  },
]

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error']
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Build the commander program (exported so `--help` output can be tested). */
export function buildCommand(env: Readonly<Record<string, string | undefined>>): Command {
  const cmd = new Command('network-dra-plugin')
    .description('network-dra kubelet plugin: attaches extra pod network interfaces with CNI')
    .allowExcessArguments(false)
    .exitOverride()
  for (const o of OPTIONS) {
    const opt = new Option(`--${o.flag} <value>`, `${o.help} [env ${o.env}]`).default(
      env[o.env] ?? o.def,
    )
    cmd.addOption(opt)
  }
  return cmd
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())
}

/**
 * Parse argv + env into a validated Config. Flags win over env, env over defaults. Throws
 * `InvalidConfigError` listing every problem.
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Config {
  const cmd = buildCommand(env)
  cmd.parse([...argv], { from: 'user' })
  const raw = cmd.opts<Record<string, string>>()
  const get = (flag: string): string => raw[camel(flag)] ?? ''
  const problems: string[] = []

  const int = (flag: string, min: number, max: number): number => {
    const v = get(flag)
    const n = Number(v)
    if (!/^\d+$/.test(v) || n < min || n > max) {
      problems.push(`--${flag}: "${v}" must be a whole number from ${min} to ${max}`)
      return min
    }
    return n
  }
  const abs = (flag: string, allowEmpty = false): string => {
    const v = get(flag)
    if (v === '' && allowEmpty) return v
    if (!isAbsolute(v)) problems.push(`--${flag}: "${v}" must be an absolute path`)
    return v
  }
  const driverName = get('driver-name')
  if (driverName.length > 63 || !DNS_SUBDOMAIN.test(driverName) || !driverName.includes('.')) {
    problems.push(
      `--driver-name: "${driverName}" must be a lower-case DNS subdomain with a dot, at most 63 characters (e.g. network-dra.dev)`,
    )
  }
  const nodeName = get('node-name')
  if (nodeName === '') problems.push('--node-name (NODE_NAME) is required')
  else if (nodeName.length > 253 || !DNS_SUBDOMAIN.test(nodeName)) {
    problems.push(`--node-name: "${nodeName}" is not a valid node name (DNS subdomain)`)
  }
  const podUid = get('pod-uid')
  if (podUid !== '' && !/^[a-z0-9-]{1,64}$/.test(podUid)) {
    problems.push(`--pod-uid: "${podUid}" must be a pod UID (lower-case hex and dashes)`)
  }
  const cniBinDirs = get('cni-bin-dirs')
    .split(':')
    .filter(d => d !== '')
  if (cniBinDirs.length === 0) problems.push('--cni-bin-dirs: at least one directory is required')
  for (const d of cniBinDirs) {
    if (!isAbsolute(d)) problems.push(`--cni-bin-dirs: "${d}" must be an absolute path`)
  }
  const hostInterfaces = get('host-interfaces')
  if (hostInterfaces !== '') {
    try {
      new RegExp(hostInterfaces)
    } catch {
      problems.push(`--host-interfaces: "${hostInterfaces}" is not a valid regular expression`)
    }
  }
  const shared = parseSharedHostLinks(get('shared-host-links'))
  problems.push(...shared.problems.map(p => `--shared-host-links: ${p}`))
  const hostLinkDownTaint = get('host-link-down-taint') as Config['hostLinkDownTaint']
  if (!['NoSchedule', 'NoExecute', 'off'].includes(hostLinkDownTaint)) {
    problems.push(
      `--host-link-down-taint: "${hostLinkDownTaint}" must be NoSchedule, NoExecute or off`,
    )
  }
  const httpAddress = get('http-address')
  if (
    httpAddress !== '' &&
    !/^(\[[0-9a-fA-F:]+\]|[0-9.]*|[a-z0-9.-]*):\d{1,5}$/.test(httpAddress)
  ) {
    problems.push(
      `--http-address: "${httpAddress}" must be host:port or :port, or empty to disable`,
    )
  }
  const logLevel = get('log-level') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`--log-level: "${logLevel}" must be one of ${LOG_LEVELS.join(', ')}`)
  }
  const hookTimeoutSeconds = int('hook-timeout', 5, 300)
  const metadataRaw = get('device-metadata').trim()
  const deviceMetadataVersions: MetadataVersion[] = []
  if (metadataRaw !== 'off') {
    const known: readonly string[] = METADATA_VERSIONS
    for (const v of metadataRaw.split(',').map(s => s.trim())) {
      if (!known.includes(v) || deviceMetadataVersions.includes(v as MetadataVersion)) {
        problems.push(
          `--device-metadata: "${metadataRaw}" must be "off" or a list of distinct versions from ${METADATA_VERSIONS.join(', ')}`,
        )
        break
      }
      deviceMetadataVersions.push(v as MetadataVersion)
    }
  }

  const config: Config = {
    driverName,
    nodeName,
    podUid,
    kubeconfig: abs('kubeconfig', true),
    kubeletRegistrarDir: abs('kubelet-registrar-dir'),
    kubeletPluginsDir: abs('kubelet-plugins-dir'),
    cdiRoot: abs('cdi-root'),
    stateDir: abs('state-dir'),
    hookSocket: abs('hook-socket'),
    hookPath: abs('hook-path'),
    hookTimeoutSeconds,
    cniBinDirs,
    cniCacheDir: abs('cni-cache-dir'),
    cniPluginTimeoutSeconds: int('cni-plugin-timeout', 1, 300),
    cniHostRoot: abs('cni-host-root'),
    attachmentSlots: int('attachment-slots', 1, 4096),
    hostInterfaces,
    hostLinkDownTaint,
    sharedHostLinks: shared.rules,
    policyFile: abs('policy-file', true),
    httpAddress,
    healthSocket: abs('health-socket', true),
    statusResyncSeconds: int('status-resync', 0, 86400),
    logLevel,
    prepareConcurrency: int('prepare-concurrency', 1, 64),
    deviceMetadataVersions,
  }
  if (config.cniPluginTimeoutSeconds >= hookTimeoutSeconds) {
    problems.push(
      `--cni-plugin-timeout (${config.cniPluginTimeoutSeconds}s) must be shorter than --hook-timeout (${hookTimeoutSeconds}s)`,
    )
  }
  if (problems.length > 0) throw new InvalidConfigError(problems)
  return Object.freeze(config)
}
