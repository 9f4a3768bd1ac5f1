/**
 * Prometheus metrics of the plugin (prom-client, one registry per daemon so tests stay isolated):
 * kubelet RPC counts and latencies, attach latency and results, CNI plugin run durations, claim
 * status writes and state-file updates (the per-stage times `npm run bench:pods` reads), errors by
 * stable code, and a few gauges. Modules receive the narrow recorder they need, not the registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** All metric instruments of the daemon. */
export class Metrics {
  readonly registry: Registry
  readonly rpcTotal: Counter<'service' | 'method' | 'result'>
  readonly rpcDuration: Histogram<'service' | 'method'>
  readonly kubeletDraCalls: Counter<'api_version' | 'method'>
  readonly attachTotal: Counter<'result' | 'code'>
  readonly attachDuration: Histogram<'result'>
  readonly cniPluginDuration: Histogram<'plugin' | 'command' | 'result'>
  readonly statusWriteDuration: Histogram<'operation' | 'result'>
  readonly stateWriteDuration: Histogram<'phase'>
  readonly prepareStepDuration: Histogram<'phase'>
  readonly attachStepDuration: Histogram<'step'>
  readonly errorsTotal: Counter<'code'>
  readonly podReadsTotal: Counter<'source'>
  readonly preparedClaims: Gauge
  readonly registered: Gauge
  readonly publishedDevices: Gauge

  constructor(opts: { defaultMetrics: boolean }) {
    this.registry = new Registry()
    const registers = [this.registry]
    this.rpcTotal = new Counter({
      name: 'network_dra_rpc_total',
      help: 'gRPC calls served (kubelet DRA, registration, hook), by result code',
      labelNames: ['service', 'method', 'result'],
      registers,
    })
    this.rpcDuration = new Histogram({
      name: 'network_dra_rpc_duration_seconds',
      help: 'gRPC call latency',
      labelNames: ['service', 'method'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.attachTotal = new Counter({
      name: 'network_dra_attach_total',
      help: 'hook attach requests by result (attached, reused, failed) and error code',
      labelNames: ['result', 'code'],
      registers,
    })
    this.attachDuration = new Histogram({
      name: 'network_dra_attach_duration_seconds',
      help: 'time from hook request to reply',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.cniPluginDuration = new Histogram({
      name: 'network_dra_cni_plugin_duration_seconds',
      help: 'duration of one CNI plugin execution',
      labelNames: ['plugin', 'command', 'result'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.statusWriteDuration = new Histogram({
      name: 'network_dra_status_write_duration_seconds',
      help: 'duration of one ResourceClaim status write to the API server (apply or json_patch), by result',
      labelNames: ['operation', 'result'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.stateWriteDuration = new Histogram({
      name: 'network_dra_state_write_duration_seconds',
      help: 'one state-file update by phase: queue (behind this instance), lock (cross-process), write (read, change, atomic replace), total',
      labelNames: ['phase'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.prepareStepDuration = new Histogram({
      name: 'network_dra_prepare_step_duration_seconds',
      help: 'one step of NodePrepareResources: refresh (re-read the state, per call), claim_read (GET the ResourceClaim), plan, record (state update), cdi_spec (write the CDI spec), per claim',
      labelNames: ['phase'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.attachStepDuration = new Histogram({
      name: 'network_dra_attach_step_duration_seconds',
      help: 'one step of a hook attach call: lock (wait for a call on the same request), refresh (state re-read), resolve (pod and netns from the OCI state), cni_add (the whole ADD), record (state update), metadata (device metadata file)',
      labelNames: ['step'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.errorsTotal = new Counter({
      name: 'network_dra_errors_total',
      help: 'errors by stable error code',
      labelNames: ['code'],
      registers,
    })
    this.podReadsTotal = new Counter({
      name: 'network_dra_pod_reads_total',
      help: "pods read for the unreferenced-claim check, by where the answer came from: cache (the API server's watch cache) or quorum (a GET read from etcd)",
      labelNames: ['source'],
      registers,
    })
    this.kubeletDraCalls = new Counter({
      name: 'network_dra_kubelet_dra_calls_total',
      help: 'DRAPlugin calls received from the kubelet, by the API version it chose (v1, v1beta1)',
      labelNames: ['api_version', 'method'],
      registers,
    })
    this.preparedClaims = new Gauge({
      name: 'network_dra_prepared_claims',
      help: 'claims currently prepared on this node',
      registers,
    })
    this.registered = new Gauge({
      name: 'network_dra_kubelet_registered',
      help: '1 when the kubelet has confirmed the plugin registration',
      registers,
    })
    this.publishedDevices = new Gauge({
      name: 'network_dra_published_devices',
      help: 'devices published in this node ResourceSlices',
      registers,
    })
    if (opts.defaultMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'network_dra_' })
  }
}
