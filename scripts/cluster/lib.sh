# shellcheck shell=bash
# lib.sh — shared helpers of the single-node cluster harness (scripts/cluster/*.sh): paths, settings,
# certificates, kubeconfigs, process start/stop by PID, waiting. Sourced, never executed. Logging, the
# pinned versions and the K8S_VERSION × CONTAINERD_VERSION selection come from scripts/lib/common.sh.
#
# Settings (environment, all optional):
#   K8S_VERSION, CONTAINERD_VERSION  the combination to run (scripts/versions.env; default: newest)
#   NDRA_CLUSTER_DIR   state dir of the full cluster (default /var/lib/network-dra-cluster)
#   NDRA_CP_DIR        state dir of the control-plane-only instance (default /var/lib/network-dra-cp)
#   NDRA_K8S_BIN       directory with the kube-* binaries (default: the K8S_VERSION build's cache dir)
#   NDRA_NODE_NAME     node name (default: lower-cased hostname)
#   NDRA_NODE_IP       node IP (default: IPv4 address of the default-route interface)
#   NDRA_FEATURE_GATES feature gates passed to every component (default: none)
#   NDRA_RUNTIME_CONFIG extra --runtime-config for kube-apiserver (default: none)

NDRA_LOG_TAG=cluster
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

# ---- mode and paths --------------------------------------------------------------------------
# ndra_setup_mode full|control-plane : sets STATE, ports and derived paths.
ndra_setup_mode() {
  MODE="$1"
  case "$MODE" in
    full)
      STATE="${NDRA_CLUSTER_DIR:-/var/lib/network-dra-cluster}"
      RUNDIR="/run/network-dra-cluster"
      ETCD_CLIENT_PORT=2379 ETCD_PEER_PORT=2380 API_PORT=6443
      CM_PORT=10257 SCHED_PORT=10259
      ;;
    control-plane)
      STATE="${NDRA_CP_DIR:-/var/lib/network-dra-cp}"
      RUNDIR="/run/network-dra-cp"
      ETCD_CLIENT_PORT=12379 ETCD_PEER_PORT=12380 API_PORT=16443
      CM_PORT=0 SCHED_PORT=0
      ;;
    *) die "unknown mode $MODE" ;;
  esac
  ndra_select_platform
  K8S_BIN="${NDRA_K8S_BIN:-$(ndra_k8s_bindir)}"
  CTRD_BIN="$(ndra_containerd_bindir)"
  PKI="$STATE/pki"
  LOGS="$STATE/logs"
  PIDS="$STATE/pids"
  ADMIN_KUBECONFIG="$STATE/admin.kubeconfig"
  KUBECTL="$K8S_BIN/kubectl"
  NODE_NAME="${NDRA_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}"
  # Full-cluster-only paths.
  KUBELET_ROOT=/var/lib/kubelet
  CTRD_ROOT="$STATE/containerd/root"
  CTRD_STATE="$RUNDIR/containerd"
  CTRD_SOCK="$RUNDIR/containerd/containerd.sock"
  CNI_CONF_DIR="$STATE/cni/net.d"
  CNI_NET_NAME="ndra-pod-net"
  POD_BRIDGE="ndra0"
  POD_SUBNET="10.22.0.0/24"
  POD_GATEWAY="10.22.0.1"
  SERVICE_RANGE="10.0.0.0/24"
  SERVICE_API_IP="10.0.0.1"
  FWD_CHAIN="NDRA-CLUSTER-FWD"
}

# Node IP: the IPv4 address of the interface holding the default route (no packet is sent).
ndra_node_ip() {
  if [[ -n "${NDRA_NODE_IP:-}" ]]; then
    echo "$NDRA_NODE_IP"
    return
  fi
  local dev ip
  dev="$(ip -4 route show default | awk '{for (i=1;i<NF;i++) if ($i=="dev") {print $(i+1); exit}}')"
  if [[ -n "$dev" ]]; then
    ip="$(ip -4 -o addr show dev "$dev" scope global | awk '{split($4,a,"/"); print a[1]; exit}')"
  fi
  if [[ -z "${ip:-}" ]]; then
    ip="$(ip -4 -o addr show scope global | awk '{split($4,a,"/"); print a[1]; exit}')"
  fi
  [[ -n "${ip:-}" ]] || die "cannot determine the node IP; set NDRA_NODE_IP"
  echo "$ip"
}

# ---- processes -------------------------------------------------------------------------------
# ndra_start NAME CMD... : starts CMD in the background (own session), log to logs/NAME.log,
# PID to pids/NAME.pid and the absolute path of the executable it runs to pids/NAME.exe (the guard
# ndra_alive/ndra_stop check against /proc/<pid>/exe).
ndra_start() {
  local name="$1" exe
  shift
  exe="$(readlink -f "$(command -v "$1")")" || die "$1: not found"
  mkdir -p "$LOGS" "$PIDS"
  log "starting $name ($exe)"
  printf '=== %s %s\n' "$(date -Is)" "$*" >>"$LOGS/$name.log"
  # fd 8 is the up/down lock: daemons must not inherit it. setsid execs in place (a background
  # job of a script is not a process-group leader), so $! is the daemon's own PID.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$PIDS/$name.pid"
  echo "$exe" >"$PIDS/$name.exe"
}

# ndra_runs_exe PID EXE : true when PID is a live (non-zombie) process whose executable is exactly
# EXE (also when EXE was replaced on disk since: the kernel then shows "EXE (deleted)").
ndra_runs_exe() {
  local pid="$1" want="$2" exe
  [[ -n $pid && -n $want && -d /proc/$pid ]] || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [[ $exe == "$want" || $exe == "$want (deleted)" ]]
}

# True when pids/NAME.pid names a live process that still runs the executable we started.
ndra_alive() {
  local f="$PIDS/$1.pid"
  [[ -f $f && -f "$PIDS/$1.exe" ]] || return 1
  ndra_runs_exe "$(cat "$f")" "$(cat "$PIDS/$1.exe")"
}

# ndra_kill_pid PID [GRACE_SECONDS] : SIGTERM, wait, SIGKILL.
ndra_kill_pid() {
  local pid="$1" grace="${2:-10}" i
  [[ -d /proc/$pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    [[ -d /proc/$pid ]] || return 0
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    [[ -d /proc/$pid ]] || return 0
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
    sleep 0.1
  done
}

# ndra_stop NAME [GRACE] : stops the process recorded in pids/NAME.pid — only if it still runs the
# exact executable recorded in pids/NAME.exe (a reused PID is left alone) — and removes the records.
ndra_stop() {
  local name="$1" grace="${2:-10}" f="$PIDS/$1.pid" pid
  [[ -f $f ]] || return 0
  pid="$(cat "$f")"
  if ndra_alive "$name"; then
    log "stopping $name (pid $pid)"
    ndra_kill_pid "$pid" "$grace"
  elif [[ -n $pid && -d /proc/$pid ]]; then
    log "pid $pid of $name now runs '$(readlink "/proc/$pid/exe" 2>/dev/null)' — not ours, left alone"
  fi
  rm -f "$f" "$PIDS/$name.exe"
}

# ndra_wait DESCRIPTION TIMEOUT_SECONDS CMD... : polls CMD until it succeeds.
ndra_wait() {
  local what="$1" timeout="$2" start
  shift 2
  start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - start >= timeout)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
  log "$what: ok after $((SECONDS - start))s"
}

ndra_kubectl() { "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# ---- certificates ----------------------------------------------------------------------------
# ndra_cert NAME SUBJECT [SAN] [EXT_USAGE] : key + cert signed by the CA, valid 10 days.
ndra_cert() {
  local name="$1" subj="$2" san="${3:-}" usage="${4:-clientAuth}" ext
  ext="$(mktemp)"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$ext"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 10 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$ext" "$PKI/$name.csr"
}

# ndra_make_pki NODE_IP : CA, apiserver serving cert, client certs, service-account key pair.
ndra_make_pki() {
  local node_ip="$1" san
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=network-dra-cluster-ca" -days 10 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/ca.crt" 2>/dev/null
  san="IP:127.0.0.1,IP:$node_ip,IP:$SERVICE_API_IP,DNS:localhost,DNS:$NODE_NAME,DNS:kubernetes"
  san="$san,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  ndra_cert apiserver "/CN=kube-apiserver" "$san" serverAuth
  ndra_cert admin "/O=system:masters/CN=network-dra-admin"
  ndra_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  ndra_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  rm -f "$PKI/ca.srl"
}

# ndra_kubeconfig FILE SERVER CERT_NAME : kubeconfig with embedded CA and client cert.
ndra_kubeconfig() {
  local file="$1" server="$2" cert="$3"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: network-dra
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $(base64 -w0 <"$PKI/$cert.crt")
    client-key-data: $(base64 -w0 <"$PKI/$cert.key")
contexts:
- name: network-dra
  context: {cluster: network-dra, user: $cert}
current-context: network-dra
EOF
  chmod 600 "$file"
}

# ---- control plane ---------------------------------------------------------------------------
ndra_feature_gate_flag() { [[ -n "${NDRA_FEATURE_GATES:-}" ]] && echo "--feature-gates=$NDRA_FEATURE_GATES"; }

# ndra_start_control_plane BIND_IP ADVERTISE_IP : etcd, kube-apiserver, controller-manager (and, in
# full mode, the scheduler); waits for /readyz and kube-root-ca.crt.
ndra_start_control_plane() {
  local bind_ip="$1" adv_ip="$2" fg extra=()
  fg="$(ndra_feature_gate_flag || true)"
  [[ -x "$K8S_BIN/kube-apiserver" ]] || die "no kube-apiserver in $K8S_BIN (run scripts/build/k8s.sh)"
  command -v etcd >/dev/null || die "etcd missing (run scripts/install/deps.sh)"
  mkdir -p "$STATE/etcd"
  chmod 700 "$STATE/etcd"
  ndra_start etcd etcd --name default --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  ndra_wait "etcd health" 30 etcd_healthy || die "etcd did not start (see $LOGS/etcd.log)"

  [[ -n "${NDRA_RUNTIME_CONFIG:-}" ]] && extra+=("--runtime-config=$NDRA_RUNTIME_CONFIG")
  [[ -n $fg ]] && extra+=("$fg")
  if [[ $MODE == control-plane ]]; then
    # Loopback is not a valid Endpoints address: skip the kubernetes Service endpoints.
    extra+=(--endpoint-reconciler-type=none)
  fi
  ndra_start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address "$bind_ip" --advertise-address "$adv_ip" --secure-port "$API_PORT" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --service-cluster-ip-range "$SERVICE_RANGE" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --requestheader-client-ca-file "$PKI/ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --allow-privileged=true \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --profiling=false --v=1 "${extra[@]}"
  ndra_wait "kube-apiserver /readyz" 120 ndra_kubectl get --raw /readyz ||
    die "kube-apiserver not ready (see $LOGS/kube-apiserver.log)"

  local cm_flags=()
  [[ -n $fg ]] && cm_flags+=("$fg")
  ndra_start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$ADMIN_KUBECONFIG" \
    --authentication-kubeconfig "$ADMIN_KUBECONFIG" --authorization-kubeconfig "$ADMIN_KUBECONFIG" \
    --root-ca-file "$PKI/ca.crt" --service-account-private-key-file "$PKI/sa.key" \
    --use-service-account-credentials --leader-elect=false --controllers='*' \
    --service-cluster-ip-range "$SERVICE_RANGE" \
    --bind-address 127.0.0.1 --secure-port "$CM_PORT" --profiling=false --v=1 "${cm_flags[@]}"

  if [[ $MODE == full ]]; then
    cat >"$STATE/scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $ADMIN_KUBECONFIG
leaderElection:
  leaderElect: false
EOF
    ndra_start kube-scheduler "$K8S_BIN/kube-scheduler" --config "$STATE/scheduler.yaml" \
      --authentication-kubeconfig "$ADMIN_KUBECONFIG" --authorization-kubeconfig "$ADMIN_KUBECONFIG" \
      --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --v=1 "${cm_flags[@]}"
  fi
  ndra_wait "kube-root-ca.crt in default" 120 ndra_kubectl -n default get configmap kube-root-ca.crt ||
    die "controller-manager did not publish kube-root-ca.crt (see $LOGS/kube-controller-manager.log)"
  ndra_wait "default service account" 60 ndra_kubectl -n default get serviceaccount default ||
    die "no default service account (see $LOGS/kube-controller-manager.log)"
}

# etcd's HTTP /health endpoint, read through bash's /dev/tcp (no etcdctl/curl needed).
etcd_healthy() {
  local reply
  exec 9<>"/dev/tcp/127.0.0.1/$ETCD_CLIENT_PORT" 2>/dev/null || return 1
  printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&9
  reply="$(timeout 2 cat <&9)"
  exec 9>&-
  [[ $reply == *'"health":"true"'* ]]
}

# ndra_stop_control_plane : stops what ndra_start_control_plane started, in reverse order.
ndra_stop_control_plane() {
  ndra_stop kube-scheduler
  ndra_stop kube-controller-manager
  ndra_stop kube-apiserver 20
  ndra_stop etcd 20
}

# Prints the tail of every component log.
ndra_print_logs() {
  local lines="${1:-60}" f
  [[ -d $LOGS ]] || {
    echo "(no logs in $LOGS)"
    return 0
  }
  for f in "$LOGS"/*.log; do
    [[ -f $f ]] || continue
    echo "===== $f (last $lines lines) ====="
    tail -n "$lines" "$f"
  done
}

# ---- full node: host changes recorded at up-time and undone at down-time ---------------------
# Sysctls that up.sh, the kubelet (protectKernelDefaults: false), kube-proxy or the CNI bridge
# plugin may change. Their values before up.sh are saved in $STATE/sysctl.orig.
NDRA_SYSCTLS=(
  net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv4.conf.all.route_localnet
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait net.netfilter.nf_conntrack_tcp_be_liberal
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes
)

ndra_record_host_state() {
  local k v
  : >"$STATE/sysctl.orig"
  for k in "${NDRA_SYSCTLS[@]}"; do
    v="$(sysctl -n "$k" 2>/dev/null)" || continue
    printf '%s=%s\n' "$k" "$v" >>"$STATE/sysctl.orig"
  done
  # Pod netns live in /run/netns; the plugin mounts it with HostToContainer propagation, which
  # containerd accepts only from a shared or slave mount. Make it one (as `ip netns add` does)
  # instead of making / rshared, which cannot be undone exactly (over-mounted targets).
  mkdir -p /run/netns
  if ! mountpoint -q /run/netns; then
    mount --bind /run/netns /run/netns
    echo bind >"$STATE/netns-mount.orig"
  else
    findmnt -n -o PROPAGATION /run/netns | head -1 >"$STATE/netns-mount.orig"
  fi
  [[ "$(findmnt -n -o PROPAGATION /run/netns | head -1)" == shared ]] || mount --make-shared /run/netns
  : >"$STATE/created-dirs"
  for d in "$KUBELET_ROOT" /var/log/containers /etc/cdi /var/run/cdi; do
    [[ -e $d ]] || echo "$d" >>"$STATE/created-dirs"
  done
}

ndra_restore_host_state() {
  local k v cur
  if [[ -f "$STATE/sysctl.orig" ]]; then
    while IFS='=' read -r k v; do
      cur="$(sysctl -n "$k" 2>/dev/null)" || continue
      if [[ "$cur" != "$v" ]]; then
        log "restoring sysctl $k=$v (was $cur)"
        sysctl -q -w "$k=$v" >/dev/null || log "could not restore $k"
      fi
    done <"$STATE/sysctl.orig"
    rm -f "$STATE/sysctl.orig"
  fi
  if [[ -f "$STATE/netns-mount.orig" ]]; then
    case "$(cat "$STATE/netns-mount.orig")" in
      # Our bind mount goes only if nobody (another test's netns) still has a mount below it.
      bind) if ! findmnt -rn -o TARGET | grep -q '^/run/netns/'; then umount /run/netns 2>/dev/null || true; fi ;;
      private*) mount --make-private /run/netns ;;
      slave*) mount --make-slave /run/netns ;;
    esac
    rm -f "$STATE/netns-mount.orig"
  fi
}

# Unmounts every mount point under the given directories, deepest first.
ndra_unmount_under() {
  local d m
  for d in "$@"; do
    [[ -n $d ]] || continue
    findmnt -rn -o TARGET | awk -v p="$d" 'index($0, p) == 1 && (length($0) == length(p) || substr($0, length(p) + 1, 1) == "/")' |
      awk '{print length($0) " " $0}' | sort -rn | cut -d' ' -f2- | while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done
  done
}

# Removes the iptables/ip6tables chains of kube-proxy and kubelet (KUBE-*), of this harness
# (NDRA-CLUSTER-*) and CNI chains whose rules name a network of the harness or the driver (the pod
# network, the e2e admin network, networks the driver names ndra.*), plus every rule jumping to them.
ndra_clean_iptables() {
  local bin table chains rule c
  for bin in iptables ip6tables; do
    command -v "$bin" >/dev/null || continue
    for table in filter nat mangle raw; do
      "$bin" -t "$table" -S >/dev/null 2>&1 || continue
      chains="$(
        "$bin" -t "$table" -S | awk -v net="$CNI_NET_NAME" '
          /^-N (KUBE-|NDRA-CLUSTER)/ {print $2}
          /^-A CNI-/ && !/^-A CNI-HOSTPORT-/ && (index($0, "\\\"" net "\\\"") || index($0, "\\\"e2e-masq\\\"") || index($0, "\\\"ndra.")) {print $2}' | sort -u
      )"
      [[ -n $chains ]] || continue
      # Rules (in any chain not being removed) that jump to a chain being removed; iptables -S
      # quotes its output so that eval re-reads each rule exactly.
      while read -r rule; do
        [[ -n $rule ]] || continue
        eval "\"\$bin\" -t \"\$table\" -D ${rule#-A }" 2>/dev/null || true
      done < <("$bin" -t "$table" -S | awk -v c="$chains" '
        BEGIN {split(c, a, "\n"); for (i in a) ours[a[i]] = 1}
        $1 == "-A" && !($2 in ours) { for (i = 3; i < NF; i++) if (($i == "-j" || $i == "-g") && ($(i+1) in ours)) { print; break } }')
      for c in $chains; do "$bin" -t "$table" -F "$c" 2>/dev/null || true; done
      for c in $chains; do "$bin" -t "$table" -X "$c" 2>/dev/null || log "$bin -t $table: could not delete $c"; done
    done
  done
}

# Kills every process in, then removes, the kubelet's cgroup trees (cgroupfs driver: /kubepods in
# each v1 hierarchy and, on hybrid hosts, in the unified one).
ndra_clean_cgroups() {
  local root pid i left
  for ((i = 0; i < 20; i++)); do
    left=0
    for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
      [[ -d $root ]] || continue
      while read -r pid; do
        [[ -n $pid ]] || continue
        left=1
        kill -KILL "$pid" 2>/dev/null || true
      done < <(find "$root" -name cgroup.procs -exec cat {} + 2>/dev/null)
    done
    ((left)) || break
    sleep 0.25
  done
  for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $root ]] || continue
    find "$root" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d $root ]] && log "cgroup $root could not be removed"
  done
  return 0
}

# ctr of the containerd the harness started (recorded at start), else of the selected one.
ndra_ctr_bin() {
  local d="$CTRD_BIN"
  [[ -f "$PIDS/containerd.exe" ]] && d="$(dirname "$(cat "$PIDS/containerd.exe")")"
  if [[ -x $d/ctr ]]; then echo "$d/ctr"; else command -v ctr; fi
}
ndra_ctr() { "$(ndra_ctr_bin)" --address "$CTRD_SOCK" -n k8s.io "$@"; }

# Stops every container of the harness's containerd: collects pod netns paths and shim PIDs from
# containerd's own state dir first, kills + deletes tasks through containerd, then kills any shim
# that is left (by PID, checking it serves our containerd) and removes its socket.
ndra_stop_containers() {
  local taskdir="$CTRD_STATE/io.containerd.runtime.v2.task" b id pid addr
  local netns=() shims=() sockets=() ids=()
  if [[ -d $taskdir ]]; then
    for b in "$taskdir"/*/*/; do
      [[ -d $b ]] || continue
      ids+=("$(basename "$b")")
      [[ -f "$b/config.json" ]] &&
        mapfile -t -O "${#netns[@]}" netns < <(grep -o '"/var/run/netns/cni-[0-9a-f-]*"' "$b/config.json" | tr -d '"')
      # The shim is the parent of the task's init process (containerd 1.7 writes no shim.pid).
      if [[ -f "$b/init.pid" ]]; then
        pid="$(cat "$b/init.pid")"
        [[ -r /proc/$pid/stat ]] && shims+=("$(awk '{print $4}' "/proc/$pid/stat")")
      fi
      [[ -f "$b/address" ]] && sockets+=("$(sed 's|^unix://||' "$b/address")")
    done
  fi
  if [[ -S $CTRD_SOCK ]] && ndra_alive containerd; then
    for id in $(ndra_ctr tasks ls -q 2>/dev/null); do
      ndra_ctr tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(ndra_ctr tasks ls -q 2>/dev/null); do
      timeout 20 "$(ndra_ctr_bin)" --address "$CTRD_SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
    done
  fi
  ndra_clean_cgroups
  ndra_stop containerd 15
  for pid in "${shims[@]}"; do
    [[ -n $pid && -r /proc/$pid/cmdline ]] || continue
    if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CTRD_SOCK"; then
      log "killing leftover shim $pid"
      ndra_kill_pid "$pid" 5
    fi
  done
  for addr in "${sockets[@]}"; do rm -f "$addr"; done
  # libcni result cache entries of our sandboxes (default network and its loopback).
  for id in "${ids[@]}"; do rm -f /var/lib/cni/results/*-"$id"-* 2>/dev/null || true; done
  for b in "${netns[@]}"; do
    [[ -e $b ]] || continue
    umount "$b" 2>/dev/null || umount -l "$b" 2>/dev/null || true
    rm -f "$b"
  done
}

# Everything down.sh does for the full cluster; safe to run on a partial or absent cluster.
ndra_full_down() {
  local created=()
  [[ -f "$STATE/created-dirs" ]] && mapfile -t created <"$STATE/created-dirs"
  ndra_stop kube-proxy
  ndra_stop kubelet 15
  ndra_stop_containers
  ndra_stop_control_plane
  ndra_unmount_under "$KUBELET_ROOT" "$STATE" "$RUNDIR"
  if ip link show "$POD_BRIDGE" >/dev/null 2>&1; then
    local v
    for v in $(ip -o link show master "$POD_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
      ip link del "$v" 2>/dev/null || true
    done
    ip link del "$POD_BRIDGE"
    log "removed link $POD_BRIDGE"
  fi
  ndra_clean_iptables
  ndra_clean_cgroups
  rm -f /var/lib/cni/results/"$CNI_NET_NAME"-* 2>/dev/null || true
  if [[ -d /var/log/containers ]]; then
    find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*" -delete 2>/dev/null || true
  fi
  ndra_restore_host_state
  local d
  for d in "${created[@]}"; do
    case "$d" in
      /etc/cdi | /var/run/cdi) [[ -d $d ]] && rmdir "$d" 2>/dev/null || true ;; # only if empty
      /var/log/containers) [[ -d $d ]] && rmdir "$d" 2>/dev/null || true ;;
      "$KUBELET_ROOT") rm -rf "$KUBELET_ROOT" ;;
    esac
  done
  # Keep the logs (scripts/cluster/logs.sh reads them after a failure); drop everything else.
  if [[ -d $STATE ]]; then
    find "$STATE" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  fi
  rm -rf "$RUNDIR"
}
