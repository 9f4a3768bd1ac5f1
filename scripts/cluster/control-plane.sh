#!/usr/bin/env bash
# control-plane.sh — starts/stops only etcd + kube-apiserver + kube-controller-manager on loopback
# (127.0.0.1:16443, etcd on 12379/12380) of K8S_VERSION (default: the newest), for integration
# tests that need a real API server but no node. Separate state dir and ports from the full cluster (scripts/cluster/up.sh), so both can run.
#
#   scripts/cluster/control-plane.sh up      # prints the admin kubeconfig path on stdout
#   scripts/cluster/control-plane.sh down
#   scripts/cluster/control-plane.sh kubeconfig   # prints the path (exit 1 if not running)
#   scripts/cluster/control-plane.sh logs
#
# The kubeconfig (client cert in O=system:masters) is $NDRA_CP_DIR/admin.kubeconfig
# (default /var/lib/network-dra-cp/admin.kubeconfig). Idempotent: `up` on a running, healthy
# instance just prints the path; a half-started one is torn down and started again.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ndra_setup_mode control-plane

cp_down() {
  ndra_stop_control_plane
  rm -rf "$STATE/etcd" "$PKI" "$ADMIN_KUBECONFIG" "$PIDS" "$RUNDIR" "$STATE/platform"
}

cp_healthy() {
  ndra_alive etcd && ndra_alive kube-apiserver && ndra_alive kube-controller-manager &&
    [[ -f $ADMIN_KUBECONFIG && "$(cat "$STATE/platform" 2>/dev/null)" == "$K8S_VERSION" ]] &&
    ndra_kubectl get --raw /readyz >/dev/null 2>&1
}

cp_up() {
  if cp_healthy; then
    log "control plane already running"
    echo "$ADMIN_KUBECONFIG"
    return
  fi
  local t0=$SECONDS
  cp_down
  mkdir -p "$STATE" "$LOGS"
  chmod 700 "$STATE"
  for f in "$LOGS"/*.log; do [[ -f $f ]] && : >"$f"; done
  echo "$K8S_VERSION" >"$STATE/platform"
  ndra_make_pki 127.0.0.1
  ndra_kubeconfig "$ADMIN_KUBECONFIG" "https://127.0.0.1:$API_PORT" admin
  if ! ndra_start_control_plane 127.0.0.1 127.0.0.1; then
    ndra_print_logs 40 >&2
    exit 1
  fi
  log "control plane up in $((SECONDS - t0))s; export KUBECONFIG=$ADMIN_KUBECONFIG"
  echo "$ADMIN_KUBECONFIG"
}

case "${1:-}" in
  up) cp_up ;;
  down)
    cp_down
    log "control plane down"
    ;;
  kubeconfig)
    cp_healthy || exit 1
    echo "$ADMIN_KUBECONFIG"
    ;;
  logs) ndra_print_logs "${2:-60}" ;;
  *)
    echo "usage: $0 up|down|kubeconfig|logs [lines]" >&2
    exit 2
    ;;
esac
