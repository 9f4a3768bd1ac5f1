#!/usr/bin/env bash
# integration.sh — the integration suite (`npm run test:integration`). Starts the loopback control
# plane (scripts/cluster/control-plane.sh: etcd + kube-apiserver + controller-manager on
# 127.0.0.1:16443, of K8S_VERSION; idempotent) unless one of that version is already running, exports its admin kubeconfig as
# NDRA_CP_KUBECONFIG for the tests that need a real API server, builds dist/ if it is missing, runs
# test/integration with tap one file at a time, and stops the control plane at exit only if this
# script started it. Needs root (network namespaces, runc, podman). Extra arguments go to tap.
#
#   bash scripts/test/integration.sh                                        # whole suite
#   bash scripts/test/integration.sh test/integration/driver-kubelet.ts     # one file
set -euo pipefail
NDRA_LOG_TAG=integration
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
cd "$NDRA_REPO"
[[ $(id -u) == 0 ]] || die "integration.sh must run as root"
ndra_select_platform
export PATH="$(ndra_node_bindir):$PATH"

started_here=0
stop_control_plane() {
  if [[ $started_here == 1 ]]; then
    bash scripts/cluster/control-plane.sh down >&2 || true
  fi
}
trap stop_control_plane EXIT

if kubeconfig=$(bash scripts/cluster/control-plane.sh kubeconfig 2>/dev/null); then
  log "using the running control plane ($kubeconfig)"
else
  started_here=1
  kubeconfig=$(bash scripts/cluster/control-plane.sh up | tail -n 1)
fi
export NDRA_CP_KUBECONFIG=$kubeconfig

[[ -f dist/src/main.js && -x dist/hook/network-dra-hook ]] || npm run build

files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(test/integration)
npx tap --disable-coverage --jobs=1 "${files[@]}"
