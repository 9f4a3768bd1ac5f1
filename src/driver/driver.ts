/**
 * The network-dra kubelet plugin, composed: claim ledger (state file), CDI writer, CNI runtime,
 * attacher + detacher + attachment GC, hook
 * server, kubelet plugin (registration + DRA), ResourceSlice publisher, host-link inventory, claim
 * status, metrics and health.
 *
 * Start-up order:
 *  1. open the state store (a corrupt or unknown-version file stops start-up: never reset);
 *  2. recover: re-write missing CDI specs, drop orphan specs, garbage-collect CNI attachments (CNI GC
 *     only when no other instance of the plugin is live on the node, see recovery.ts);
 *  3. start the hook server, so containers of already-prepared claims can attach again. During a
 *     rolling update this takes the hook socket path over from the old instance: new hook calls
 *     come here, the old instance finishes the calls it already accepted;
 *  4. take the first host-link inventory (when host interfaces are published; then re-read on every
 *     `ip monitor link` event, with a slow resync) and start the device health monitor;
 *  5. start the kubelet plugin: DRA socket first, then the registration socket (per-instance names
 *     with the pod UID: the kubelet keeps both instances and prefers the newest);
 *  6. start publishing ResourceSlices (re-created whenever the kubelet wipes them);
 *  7. serve /metrics, /healthz, /readyz (TCP port retried while the old instance holds it; the
 *     per-pod health socket the probes use at once);
 *  8. reconcile the status of every held claim, then again every `statusResyncSeconds`.
 *
 * Shutdown order (SIGTERM), all within one budget of SHUTDOWN_BUDGET_MS (the chart's
 * terminationGracePeriodSeconds, 30 s, leaves 5 s of margin before the kubelet's SIGKILL):
 *  1. stop the periodic status reconcile (no new passes start);
 *  2. stop the kubelet plugin: registration socket removed first (the kubelet sends new
 *     prepare/unprepare calls to the other instance, if any), running prepares/unprepares drained;
 *  3. stop the hook server: no new calls accepted (the socket path stays with a successor that took
 *     it over), in-flight attaches finish, then their results are recorded in the state file;
 *  4. drain pending claim-status writes and pod events, including the one that follows the last
 *     hook reply (what does not finish in time is re-derived by the next instance's reconcile);
 *  5. stop the slice publisher, the inventory, the link monitor and the device health monitor
 *     (slices stay; the next instance takes them over);
 *  6. stop the HTTP server and close the state store (waits for queued writes).
 * What a second instance takes over: the hook socket (step 3 of its start), the kubelet's calls
 * (step 5), slice publishing, and every claim's status through its start-up reconcile.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { KubeConfig } from '@kubernetes/client-node'
import { CoreV1Api, ResourceV1Api } from '@kubernetes/client-node'
import type { AttachMetrics } from '../attach/attach-events.js'
import { Attacher } from '../attach/attacher.js'
import { AttachmentGc } from '../attach/attachment-gc.js'
import { Detacher } from '../attach/detacher.js'
import { RequestLocks } from '../attach/request-locks.js'
import { FsNetnsProbe } from '../attach/attach-netns-probe.js'
import { HookServer } from '../attach/hook-server.js'
import { KeyedLock } from '../util/keyed-lock.js'
import { PodResolver } from '../attach/pod-resolver.js'
import { CdiSpecWriter } from '../cdi/spec-writer.js'
import { DeviceMetadataFiles, METADATA_HOST_SUBDIR } from '../metadata/device-metadata.js'
import { ClaimMetadata } from './claim-metadata.js'
import { DEFAULT_POLICY, loadPolicyFile, type Policy } from '../claims/policy.js'
import { cniExecForHostRoot } from '../cni/host-root-exec.js'
import { PluginVersions } from '../cni/plugin-versions.js'
import { CniRuntime } from '../cni/runtime.js'
import type { Config } from '../config.js'
import { HostLinkInventory } from '../inventory/host-links.js'
import { HostLinkWatcher } from '../inventory/host-link-watcher.js'
import { LinkMonitor, nodeLineSpawner } from '../inventory/link-monitor.js'
import { DeviceHealthMonitor } from '../health/device-health-monitor.js'
import { NsenterInterfaceReader } from '../health/netns-interfaces.js'
import { KubeClaimReader } from '../kube/claim-reader.js'
import { makeApiClient } from '../kube/api-clients.js'
import { KubePodReader } from '../kube/pod-reader.js'
import { routeLinkEvent } from './link-events.js'
import { KubeletPlugin } from '../kubelet/kubelet-plugin.js'
import { livePeerInstances } from '../kubelet/peer-instances.js'
import { pluginSocketPaths } from '../kubelet/plugin-sockets.js'
import type { Logger } from '../logger.js'
import { HttpServer } from '../observability/http-server.js'
import { MeasuredExec } from '../observability/measured-exec.js'
import { MeasuredStatusClient } from '../observability/measured-status-client.js'
import type { Metrics } from '../observability/metrics.js'
import { systemClock } from '../slices/clock.js'
import { hostInterfaceIndex, linkDownTaintKey, poolDevices } from '../slices/device-builder.js'
import { kubeSliceClient } from '../slices/kube-slice-client.js'
import { SlicePublisher } from '../slices/slice-publisher.js'
import { ClaimLedger } from '../state/claim-ledger.js'
import type { StateUpdateObserver } from '../state/store.js'
import { ClaimStatusWriter } from '../status/claim-status.js'
import { kubeStatusClient } from '../status/kube-status-client.js'
import { PodEventRecorder } from '../status/pod-events.js'
import { ClaimPlanner } from './claim-planner.js'
import { ClaimReferenceCheck } from './claim-reference-check.js'
import { CniVersionCheck } from './cni-version-check.js'
import { execaRunner } from './command-runner.js'
import { MeasuredPreparer } from './measured-preparer.js'
import { PrepareService } from './prepare-service.js'
import { recover, sweepOrphanSpecs } from './recovery.js'
import { StatusObserver } from './status-observer.js'

export interface DriverOptions {
  readonly config: Config
  readonly logger: Logger
  readonly metrics: Metrics
  readonly kubeConfig: KubeConfig
  /** Environment CNI plugins inherit (libcni passes the runtime's own environment). */
  readonly pluginEnv: Readonly<Record<string, string | undefined>>
}

/** Everything shutdown does must fit in this (the chart's grace period is 30 s). */
export const SHUTDOWN_BUDGET_MS = 25_000
/** How long the kubelet plugin lets running prepares finish (part of the budget). */
const PLUGIN_DRAIN_MS = 10_000
/** Longest a plugin may take to answer VERSION at prepare (its answer is cached per binary). */
const VERSION_TIMEOUT_MS = 5_000
/** Host-link inventory resync (link changes arrive as `ip monitor link` events in between). */
const HOST_LINK_RESYNC_MS = 60_000
/** Device health pass period: every attached pod namespace is looked into (within the per-pass
 * cap) and the list is re-sent to the kubelet. */
const HEALTH_INTERVAL_MS = 10_000
/** Validity the kubelet gives each health report: three periods, so one slow pass is harmless. */
const HEALTH_TIMEOUT_SECONDS = 30
/** Bounds of one health pass: namespaces probed (round robin beyond), probes at a time, gap. */
const HEALTH_MAX_PROBES_PER_PASS = 32
const HEALTH_CONCURRENCY = 2
const HEALTH_MIN_GAP_MS = 2_000

function attachMetrics(m: Metrics): AttachMetrics {
  return {
    observeAttach: o => {
      m.attachTotal.inc({ result: o.outcome, code: o.code })
      m.attachDuration.observe({ result: o.outcome }, o.seconds)
      if (o.code !== 'OK') m.errorsTotal.inc({ code: o.code })
    },
    observeAttachStep: (step, seconds) => {
      m.attachStepDuration.observe({ step }, seconds)
    },
    observeDetach: o => {
      if (o.code !== 'OK') m.errorsTotal.inc({ code: o.code })
    },
  }
}

function stateMetrics(m: Metrics): StateUpdateObserver {
  return {
    observeUpdate: t => {
      for (const phase of ['queue', 'lock', 'write', 'total'] as const)
        m.stateWriteDuration.observe({ phase }, t[phase])
    },
  }
}

export class Driver {
  readonly #o: DriverOptions
  #ledger: ClaimLedger | undefined
  #hook: HookServer | undefined
  #plugin: KubeletPlugin | undefined
  #publisher: SlicePublisher | undefined
  #watcher: HostLinkWatcher | undefined
  #linkMonitor: LinkMonitor | undefined
  #health: DeviceHealthMonitor | undefined
  #http: HttpServer | undefined
  #observer: StatusObserver | undefined
  #resyncTimer: NodeJS.Timeout | undefined
  #stopping = false
  #slicesPublished = false

  constructor(opts: DriverOptions) {
    this.#o = opts
  }

  async start(): Promise<void> {
    const { config: c, logger, metrics, kubeConfig } = this.#o
    const policy: Policy = c.policyFile === '' ? DEFAULT_POLICY : await loadPolicyFile(c.policyFile)
    const ledger = await ClaimLedger.open({
      dir: c.stateDir,
      logger: logger.child({ component: 'state' }),
      observer: stateMetrics(metrics),
    })
    this.#ledger = ledger
    const specs = new CdiSpecWriter({
      cdiRoot: c.cdiRoot,
      driverName: c.driverName,
      hookPath: c.hookPath,
      hookSocket: c.hookSocket,
      hookTimeoutSeconds: c.hookTimeoutSeconds,
    })
    const exec = new MeasuredExec(cniExecForHostRoot(c.cniHostRoot), metrics.cniPluginDuration)
    const cni = new CniRuntime({
      binDirs: c.cniBinDirs,
      cacheDir: c.cniCacheDir,
      pluginTimeoutMs: c.cniPluginTimeoutSeconds * 1000,
      exec,
      parentEnv: this.#o.pluginEnv,
    })
    const statusClient = kubeStatusClient(kubeConfig)
    const events = new PodEventRecorder({
      client: statusClient,
      driverName: c.driverName,
      nodeName: c.nodeName,
      clock: systemClock,
      logger: logger.child({ component: 'events' }),
    })
    const observer = new StatusObserver({
      claims: ledger,
      writer: new ClaimStatusWriter({
        client: new MeasuredStatusClient(statusClient, metrics.statusWriteDuration),
        driverName: c.driverName,
        clock: systemClock,
        logger: logger.child({ component: 'claim-status' }),
      }),
      events,
      logger,
    })
    const metadata =
      c.deviceMetadataVersions.length === 0
        ? undefined
        : new ClaimMetadata(
            new DeviceMetadataFiles({
              root: join(c.stateDir, METADATA_HOST_SUBDIR),
              driverName: c.driverName,
              versions: c.deviceMetadataVersions,
            }),
          )
    const probe = new FsNetnsProbe()
    // One keyed mutex per (claim, request) for attach and detach.
    const locks = new RequestLocks()
    const attacher = new Attacher({
      ledger,
      cni,
      resolver: new PodResolver({ probe }),
      probe,
      locks,
      logger: logger.child({ component: 'attacher' }),
      observer,
      ...(metadata ? { metadata } : {}),
      metrics: attachMetrics(metrics),
    })
    const detacher = new Detacher({
      ledger,
      cni,
      probe,
      locks,
      logger: logger.child({ component: 'detacher' }),
      metrics: attachMetrics(metrics),
    })
    const gc = new AttachmentGc({
      ledger,
      cni,
      probe,
      detacher,
      logger: logger.child({ component: 'attachment-gc' }),
    })

    this.#observer = observer
    const ownRegistration = pluginSocketPaths({
      driverName: c.driverName,
      registrarDir: c.kubeletRegistrarDir,
      pluginsDir: c.kubeletPluginsDir,
      ...(c.podUid === '' ? {} : { podUid: c.podUid }),
    }).registrationSocket
    await recover({
      claims: () => ledger.refresh(),
      specs,
      gc,
      logger,
      peerLive: async () => {
        const peers = await livePeerInstances({
          registrarDir: c.kubeletRegistrarDir,
          driverName: c.driverName,
          ownSocket: ownRegistration,
        })
        if (peers.length > 0) logger.info({ peers }, 'another plugin instance is live on this node')
        return peers.length > 0
      },
      ...(metadata ? { metadata } : {}),
    })
    metrics.preparedClaims.set(Object.keys(ledger.claims()).length)

    this.#hook = new HookServer({
      socketPath: c.hookSocket,
      handler: attacher,
      logger: logger.child({ component: 'hook-server' }),
    })
    await this.#hook.start()

    const publisher = new SlicePublisher({
      client: kubeSliceClient(kubeConfig),
      driverName: c.driverName,
      nodeName: c.nodeName,
      clock: systemClock,
      logger: logger.child({ component: 'slices' }),
    })
    this.#publisher = publisher
    const health = new DeviceHealthMonitor({
      pool: c.nodeName,
      claims: ledger,
      reader: new NsenterInterfaceReader({ runner: execaRunner, probe }),
      clock: systemClock,
      logger: logger.child({ component: 'device-health' }),
      intervalMs: HEALTH_INTERVAL_MS,
      minGapMs: HEALTH_MIN_GAP_MS,
      maxProbesPerPass: HEALTH_MAX_PROBES_PER_PASS,
      concurrency: HEALTH_CONCURRENCY,
    })
    this.#health = health
    let hostIfaces = new Map<string, string>()
    const publish = (links: Parameters<typeof poolDevices>[1]): void => {
      hostIfaces = hostInterfaceIndex(links)
      const devices = poolDevices(
        c.attachmentSlots,
        links,
        c.hostLinkDownTaint === 'off'
          ? undefined
          : { key: linkDownTaintKey(c.driverName), effect: c.hostLinkDownTaint },
        c.sharedHostLinks,
      )
      metrics.publishedDevices.set(devices.length)
      publisher.setDevices(devices)
      health.setDevices(
        devices.map(d => d.name),
        links,
      )
    }
    publish([])
    // Exclusive host interfaces and shared host links come from the same inventory.
    const linkFilters = [
      ...(c.hostInterfaces === '' ? [] : [new RegExp(c.hostInterfaces)]),
      ...c.sharedHostLinks.map(r => r.pattern),
    ]
    const inventory =
      linkFilters.length === 0
        ? undefined
        : new HostLinkInventory({ runner: execaRunner, nameFilter: linkFilters })
    const watcher =
      inventory === undefined
        ? undefined
        : new HostLinkWatcher({
            source: inventory,
            clock: systemClock,
            logger: logger.child({ component: 'host-links' }),
            intervalMs: HOST_LINK_RESYNC_MS,
            onChange: publish,
          })
    this.#watcher = watcher
    // Link events wake only what they concern (link-events.ts): under a burst of pods, waking on
    // every event re-ran `ip` and probed every namespace again and again.
    this.#linkMonitor = new LinkMonitor({
      spawner: nodeLineSpawner,
      clock: systemClock,
      logger: logger.child({ component: 'link-monitor' }),
      onEvent: event => {
        routeLinkEvent(event, { inventory, watcher, health })
      },
    })
    this.#linkMonitor.start()
    await watcher?.start()
    await health.start()

    const preparer = new PrepareService({
      reader: new KubeClaimReader(makeApiClient(kubeConfig, ResourceV1Api)),
      planner: new ClaimPlanner({
        driverName: c.driverName,
        nodeName: c.nodeName,
        policy,
        hostInterface: device => hostIfaces.get(device),
        references: new ClaimReferenceCheck({
          pods: new KubePodReader(makeApiClient(kubeConfig, CoreV1Api), source => {
            metrics.podReadsTotal.inc({ source })
          }),
          events,
        }),
        versions: new CniVersionCheck({
          versions: new PluginVersions({
            runtime: cni,
            // Plugin paths are paths in the node's root (CNI_HOST_ROOT); stat them there.
            stat: p => stat(join(c.cniHostRoot, p)),
            timeoutMs: Math.min(VERSION_TIMEOUT_MS, c.cniPluginTimeoutSeconds * 1000),
          }),
        }),
      }),
      ledger,
      specs,
      detacher,
      claimLocks: new KeyedLock(),
      concurrency: c.prepareConcurrency,
      logger: logger.child({ component: 'prepare' }),
      ...(metadata ? { metadata } : {}),
      observer: {
        onError: code => {
          metrics.errorsTotal.inc({ code })
        },
        onPreparedCount: n => {
          metrics.preparedClaims.set(n)
        },
        onPhase: (phase, seconds) => {
          metrics.prepareStepDuration.observe({ phase }, seconds)
        },
      },
    })
    const measured = new MeasuredPreparer(preparer, metrics)
    const plugin = new KubeletPlugin({
      driverName: c.driverName,
      registrarDir: c.kubeletRegistrarDir,
      pluginsDir: c.kubeletPluginsDir,
      ...(c.podUid === '' ? {} : { podUid: c.podUid }),
      preparer: measured,
      logger: logger.child({ component: 'kubelet-plugin' }),
      onDraCall: (version, method) => {
        metrics.kubeletDraCalls.inc({ api_version: version, method })
      },
      shutdownGraceMs: PLUGIN_DRAIN_MS,
      resourceHealth: { source: health, timeoutSeconds: HEALTH_TIMEOUT_SECONDS },
    })
    this.#plugin = plugin
    await plugin.start()
    void plugin.waitRegistered(120_000).then(
      () => {
        metrics.registered.set(1)
      },
      (err: unknown) => {
        logger.warn({ err: String(err) }, 'kubelet has not confirmed the registration yet')
      },
    )

    await publisher.start()
    this.#slicesPublished = publisher.generation >= 0

    if (c.httpAddress !== '' || c.healthSocket !== '') {
      this.#http = new HttpServer({
        address: c.httpAddress,
        ...(c.healthSocket === '' ? {} : { socketPath: c.healthSocket }),
        registry: metrics.registry,
        liveness: [
          {
            name: 'kubelet-plugin',
            check: async () => {
              const h = await plugin.probeHealth()
              // Not yet registered is not a liveness failure; a dead socket is.
              return h.status === 'SERVING' || !plugin.registrationStatus().registered
                ? undefined
                : h.reason
            },
          },
        ],
        readiness: [
          {
            name: 'registration',
            check: () =>
              plugin.registrationStatus().registered
                ? undefined
                : 'kubelet has not confirmed the registration',
          },
          {
            name: 'resourceslices',
            check: () => {
              this.#slicesPublished ||= publisher.generation >= 0
              return this.#slicesPublished ? undefined : 'ResourceSlices not published yet'
            },
          },
        ],
        logger: logger.child({ component: 'http' }),
      })
      await this.#http.start()
    }
    logger.info(
      { node: c.nodeName, driver: c.driverName, sockets: plugin.paths },
      'network-dra plugin started',
    )
    const sweep = async (): Promise<void> => {
      const r = await sweepOrphanSpecs({ claims: () => ledger.refresh(), specs })
      if (r.removed.length > 0 || r.errors.length > 0) {
        logger.info({ removed: r.removed, errors: r.errors }, 'orphan CDI specs swept')
      }
    }
    this.#resync(observer, sweep, 0)
  }

  /**
   * Reconcile claim status (and sweep orphan CDI specs) after `delayMs`, then every
   * statusResyncSeconds (0 = only once).
   */
  #resync(observer: StatusObserver, sweep: () => Promise<unknown>, delayMs: number): void {
    if (this.#stopping) return
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined
      void Promise.allSettled([observer.reconcile(), sweep()]).then(() => {
        const every = this.#o.config.statusResyncSeconds
        if (every > 0) this.#resync(observer, sweep, every * 1000)
      })
    }, delayMs)
  }

  /** The shutdown sequence in the module header, each step bounded by what is left of the budget. */
  async stop(): Promise<void> {
    const log = this.#o.logger
    const deadline = Date.now() + SHUTDOWN_BUDGET_MS
    const left = (): number => Math.max(1_000, deadline - Date.now())
    const started = Date.now()
    const step = async (name: string, fn: () => unknown): Promise<void> => {
      const t0 = Date.now()
      try {
        await fn()
      } catch (err) {
        log.error({ err: String(err), step: name }, 'shutdown step failed')
      }
      log.debug({ step: name, ms: Date.now() - t0 }, 'shutdown step done')
    }
    this.#stopping = true
    clearTimeout(this.#resyncTimer)
    await step('kubelet plugin', () => this.#plugin?.stop())
    await step('hook server', () => this.#hook?.stop(left()))
    await step('claim status', async () => {
      const pending = (await this.#observer?.drain(left())) ?? 0
      if (pending > 0) {
        log.warn(
          { pending },
          'claim status writes not finished in time; the next start reconciles them',
        )
      }
    })
    await step('slice publisher', () => this.#publisher?.stop())
    await step('host links', () => {
      this.#linkMonitor?.stop()
      this.#watcher?.stop()
      this.#health?.stop()
    })
    await step('http', () => this.#http?.stop())
    await step('state store', () => this.#ledger?.close())
    log.info({ ms: Date.now() - started }, 'network-dra plugin stopped')
  }
}
