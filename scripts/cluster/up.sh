#!/usr/bin/env bash
# up.sh — starts a real single-node Kubernetes cluster as plain processes: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd (CRI, CDI on), kubelet and kube-proxy
# (iptables mode), with a default pod network (bridge ndra0, host-local 10.22.0.0/24, no masquerade,
# no default route: pods reach only each other, the node IP and the service range).
#
# Everything lives under $NDRA_CLUSTER_DIR (default /var/lib/network-dra-cluster): pki/, logs/<c>.log,
# pids/<c>.pid, containerd root, etcd data; containerd's state/socket under /run/network-dra-cluster;
# the kubelet root is /var/lib/kubelet (DRA plugins register under it). The admin kubeconfig is
# $NDRA_CLUSTER_DIR/admin.kubeconfig (printed on stdout at the end).
#
# Idempotent: a healthy running cluster is left alone; anything half-started is torn down first
# (scripts/cluster/down.sh). Images: builds the cluster images (scripts/images/build.sh cluster) and
# imports every image podman has, the plugin's localhost/network-dra:dev included when built.
# Versions: K8S_VERSION and CONTAINERD_VERSION pick one supported combination of
# scripts/versions.env (default: the newest). containerd 1.7 is Debian's package with a version-2
# config that switches CDI on (off by default in 1.7); containerd 2.x is our build
# (scripts/build/containerd.sh) with a version-3 config that leaves CDI at its defaults (on,
# /etc/cdi and /var/run/cdi) and runs the runc built beside it. A running cluster of another
# combination is torn down first.
# Environment: see lib.sh (NDRA_NODE_NAME, NDRA_NODE_IP, NDRA_FEATURE_GATES, NDRA_RUNTIME_CONFIG),
# NDRA_SKIP_IMAGES=1 to skip scripts/images/build.sh cluster (import still runs).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ndra_setup_mode full
[[ $EUID == 0 ]] || die "must run as root"

mkdir -p /run/lock
exec 8>/run/lock/network-dra-cluster.lock
flock -w 300 8 || die "another up/down is running"

node_ready() {
  [[ "$(ndra_kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
healthy() {
  local c
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy; do
    ndra_alive "$c" || return 1
  done
  [[ -f $ADMIN_KUBECONFIG && "$(cat "$STATE/platform" 2>/dev/null)" == "$K8S_VERSION/$CONTAINERD_VERSION" ]] && node_ready
}

if healthy; then
  log "cluster already running ($K8S_VERSION, containerd $CONTAINERD_VERSION)"
  echo "$ADMIN_KUBECONFIG"
  exit 0
fi

T0=$SECONDS
for bin in etcd iptables conntrack openssl; do
  command -v "$bin" >/dev/null || die "$bin missing (run scripts/install/deps.sh)"
done
RUNC="$(ndra_runc_bin)"
for b in "$CTRD_BIN/containerd" "$CTRD_BIN/containerd-shim-runc-v2" "$CTRD_BIN/ctr" "$RUNC"; do
  [[ -x $b ]] || die "$b missing (containerd $CONTAINERD_VERSION: run scripts/install/deps.sh for 1.7, scripts/build/containerd.sh for 2.x)"
done
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  [[ -x "$K8S_BIN/$b" ]] || die "$K8S_BIN/$b missing (run scripts/build/k8s.sh)"
done
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/loopback ]] || die "CNI plugins missing in /usr/lib/cni"

log "cleaning any previous run"
ndra_full_down
mkdir -p "$STATE" "$LOGS" "$PIDS" "$RUNDIR"
chmod 700 "$STATE"
for f in "$LOGS"/*.log; do [[ -f $f ]] && : >"$f"; done

NODE_IP="$(ndra_node_ip)"
log "node $NODE_NAME, IP $NODE_IP, state $STATE; Kubernetes $K8S_VERSION, containerd $CONTAINERD_VERSION ($("$CTRD_BIN/containerd" --version | awk '{print $3}')), $("$RUNC" --version | head -n 1)"
echo "$K8S_VERSION/$CONTAINERD_VERSION" >"$STATE/platform"
ndra_record_host_state

# ---- host preparation ----------------------------------------------------------------------
sysctl -q -w net.ipv4.ip_forward=1
sysctl -q -w net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
mkdir -p /etc/cdi /var/run/cdi "$KUBELET_ROOT/plugins_registry" "$KUBELET_ROOT/plugins" \
  "$STATE/manifests" "$STATE/pod-logs" "$STATE/cni/ipam" "$CNI_CONF_DIR" "$CTRD_ROOT" "$CTRD_STATE"

# Pods get no usable DNS server: nothing may resolve (or send) anything outside the machine.
printf '# network-dra local cluster: no DNS\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$STATE/resolv.conf"

# Default pod network, written before containerd starts (containerd reads it once at start).
cat >"$CNI_CONF_DIR/10-$CNI_NET_NAME.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET_NAME",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$POD_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{ "subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY" }]],
        "routes": [{ "dst": "$SERVICE_RANGE" }, { "dst": "$NODE_IP/32" }]
      }
    }
  ]
}
JSON

# Nothing from the pod bridge is forwarded anywhere but back onto the pod bridge.
iptables -N "$FWD_CHAIN"
iptables -A "$FWD_CHAIN" -i "$POD_BRIDGE" -o "$POD_BRIDGE" -j ACCEPT
iptables -A "$FWD_CHAIN" -i "$POD_BRIDGE" -j DROP
iptables -A "$FWD_CHAIN" -o "$POD_BRIDGE" -j DROP
iptables -I FORWARD 1 -j "$FWD_CHAIN"

# ---- certificates and kubeconfigs ------------------------------------------------------------
ndra_make_pki "$NODE_IP"
API_URL="https://$NODE_IP:$API_PORT"
ndra_kubeconfig "$ADMIN_KUBECONFIG" "$API_URL" admin
ndra_kubeconfig "$STATE/kubelet.kubeconfig" "$API_URL" kubelet

# ---- control plane ---------------------------------------------------------------------------
# The apiserver listens on the node IP only: it is the Endpoints address of the kubernetes Service
# (loopback is not a valid one) and kube-proxy DNATs 10.0.0.1:443 to it.
ndra_start_control_plane "$NODE_IP" "$NODE_IP"

# ---- containerd ------------------------------------------------------------------------------
# Shared by both config schemas: our own root/state/socket, no debug/metrics listeners, cgroupfs,
# restrict_oom_score_adj (no CAP_SYS_RESOURCE on the CI VM), our runc root and binary, our pod
# network's conflist and Debian's CNI plugins.
if ndra_containerd_is_debian; then
  # containerd 1.7: version-2 schema; CDI is off by default in 1.7, so it is switched on here.
  cat >"$STATE/containerd.toml" <<TOML
version = 2
root = "$CTRD_ROOT"
state = "$CTRD_STATE"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_STATE/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:v1"
  enable_cdi = true
  cdi_spec_dirs = ["/etc/cdi", "/var/run/cdi"]
  restrict_oom_score_adj = true
  disable_apparmor = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUNDIR/runc"
        BinaryName = "$RUNC"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
TOML
else
  # containerd 2.x: version-3 schema (read by every 2.x release; 2.4 also has a version 4). CDI is
  # left at its defaults — always on in 2.x, spec dirs /etc/cdi and /var/run/cdi — exactly as users
  # run it. NRI (on by default in 2.x) stays on, with its socket and plugin dirs under our state so
  # no plugin of the machine is loaded.
  cat >"$STATE/containerd.toml" <<TOML
version = 3
root = "$CTRD_ROOT"
state = "$CTRD_STATE"
oom_score = 0
imports = []
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.erofs",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_STATE/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.nri.v1.nri"]
  socket_path = "$CTRD_STATE/nri.sock"
  plugin_path = "$STATE/containerd/nri/plugins"
  plugin_config_path = "$STATE/containerd/nri/conf.d"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "localhost/pause:v1"
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  disable_apparmor = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUNDIR/runc"
        BinaryName = "$RUNC"
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
TOML
fi
# The shim is found next to containerd (PATH of the daemon: our bin dir first).
PATH="$CTRD_BIN:$PATH" ndra_start containerd "$CTRD_BIN/containerd" --config "$STATE/containerd.toml"
ndra_wait "containerd socket" 30 ndra_ctr version || die "containerd did not start (see $LOGS/containerd.log)"

# ---- images ----------------------------------------------------------------------------------
if [[ "${NDRA_SKIP_IMAGES:-0}" != 1 ]]; then
  NDRA_CTRD_SOCK="$CTRD_SOCK" "$NDRA_SCRIPTS_DIR/images/build.sh" cluster
fi
NDRA_CTRD_SOCK="$CTRD_SOCK" NDRA_CTR="$CTRD_BIN/ctr" "$NDRA_SCRIPTS_DIR/images/build.sh" import
imported="$(ndra_ctr images ls -q)"
grep -qx localhost/pause:v1 <<<"$imported" || die "localhost/pause:v1 not in containerd"

# ---- kubelet ---------------------------------------------------------------------------------
fg_yaml=""
if [[ -n "${NDRA_FEATURE_GATES:-}" ]]; then
  fg_yaml="featureGates:"$'\n'"$(tr ',' '\n' <<<"$NDRA_FEATURE_GATES" | sed 's/^\(.*\)=\(.*\)$/  \1: \2/')"
fi
cat >"$STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
cgroupDriver: cgroupfs
cgroupRoot: /
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CTRD_SOCK
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
resolvConf: $STATE/resolv.conf
clusterDomain: cluster.local
staticPodPath: $STATE/manifests
podLogsDir: $STATE/pod-logs
volumePluginDir: $STATE/volume-plugins
runtimeRequestTimeout: 2m
rotateCertificates: false
serializeImagePulls: false
$fg_yaml
YAML
ndra_start kubelet "$K8S_BIN/kubelet" --config "$STATE/kubelet.yaml" \
  --kubeconfig "$STATE/kubelet.kubeconfig" --root-dir "$KUBELET_ROOT" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
ndra_wait "node $NODE_NAME Ready" 180 node_ready || die "node did not become Ready (scripts/cluster/logs.sh)"

# ---- kube-proxy ------------------------------------------------------------------------------
cat >"$STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $ADMIN_KUBECONFIG
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_SUBNET
nodePortAddresses: ["primary"]
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
$fg_yaml
YAML
ndra_start kube-proxy "$K8S_BIN/kube-proxy" --config "$STATE/kube-proxy.yaml" --v=1
kp_rules() { iptables -t nat -S KUBE-SERVICES 2>/dev/null | grep -q "$SERVICE_API_IP/32"; }
ndra_wait "kube-proxy rules for $SERVICE_API_IP" 60 kp_rules || die "kube-proxy did not program $SERVICE_API_IP (see $LOGS/kube-proxy.log)"

log "cluster up in $((SECONDS - T0))s; export KUBECONFIG=$ADMIN_KUBECONFIG"
echo "$ADMIN_KUBECONFIG"
