#!/usr/bin/env bash
# pods.sh — `npm run bench:pods`: the pod-start benchmark on the local single-node cluster (as root).
# Like scripts/e2e.sh it builds what is missing (Kubernetes and helm, containerd + runc, cached by
# version; dist/ and the images), then brings the cluster up with scripts/cluster/up.sh — or reuses
# the one already running (its images are re-imported so the plugin is the one just built) — and
# runs scripts/bench/pods.mjs, which installs the chart, measures and cleans up what it created.
# A cluster this script started is brought down again at the end (--keep-cluster keeps it).
# K8S_VERSION / CONTAINERD_VERSION pick the platform (scripts/versions.env; default: the newest).
#
#   npm run bench:pods                              # 2 round pairs of 100 pods
#   npm run bench:pods -- --pods 30 --rounds 1      # options of pods.mjs (--pods, --rounds, --keep, --timeout)
#   npm run bench:pods -- --no-build --keep-cluster # skip the builds; leave the cluster up
set -euo pipefail
NDRA_LOG_TAG=bench-pods
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
cd "$NDRA_REPO"
[[ $(id -u) == 0 ]] || die "bench:pods must run as root"
ndra_select_platform
export PATH="$(ndra_node_bindir):$PATH"
export KUBECTL="$(ndra_k8s_bindir)/kubectl" HELM="$(ndra_helm_bin)"
CLUSTER_DIR="${NDRA_CLUSTER_DIR:-/var/lib/network-dra-cluster}"

build=1 keep_cluster=0
args=()
for a in "$@"; do
  case $a in
    --no-build) build=0 ;;
    --keep-cluster) keep_cluster=1 ;;
    *) args+=("$a") ;;
  esac
done

reused=0
if [[ "$(cat "$CLUSTER_DIR/platform" 2>/dev/null)" == "$K8S_VERSION/$CONTAINERD_VERSION" ]] &&
  "$KUBECTL" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" get --raw=/readyz >/dev/null 2>&1; then
  reused=1
fi

if ((build)); then
  bash scripts/build/k8s.sh all
  bash scripts/build/containerd.sh all
  npm run build
  bash scripts/images/stage-plugin.sh
  bash scripts/images/build.sh build
fi
if ((reused)); then
  log "reusing the running cluster ($K8S_VERSION, containerd $CONTAINERD_VERSION)"
  ((build)) && bash scripts/images/build.sh import
else
  ((keep_cluster)) || trap 'bash scripts/cluster/down.sh || true' EXIT
  bash scripts/cluster/up.sh >/dev/null
fi
node scripts/bench/pods.mjs "${args[@]}"
