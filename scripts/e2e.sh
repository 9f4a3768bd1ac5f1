#!/usr/bin/env bash
# e2e.sh — the one entry point of the end-to-end tests (`npm run test:e2e` runs this script): on the
# Kubernetes × containerd combination K8S_VERSION / CONTAINERD_VERSION select (scripts/versions.env;
# default: the newest), builds what is missing (Kubernetes and helm, containerd 2.x + runc, all
# cached outside the repo by version; dist/ and the images), brings the single-node cluster up, runs
# test/e2e with tap, and always brings the cluster down (down.sh also removes the driver's node
# state: state file, CDI specs, installed hook), so runs repeat without manual clean-up. Prints the
# durations of its phases. Needs root and scripts/install/deps.sh. Extra arguments go to tap.
#
#   bash scripts/e2e.sh                                         # newest combination
#   K8S_VERSION=<k8s> CONTAINERD_VERSION=<containerd> bash scripts/e2e.sh   # one SUPPORTED pair
#   bash scripts/e2e.sh test/e2e/demos.ts                       # only the named files
#   bash scripts/e2e.sh test/e2e/lifecycle.ts                   # (default: all of test/e2e)
set -euo pipefail
NDRA_LOG_TAG=e2e
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$NDRA_REPO"
[[ $(id -u) == 0 ]] || die "e2e.sh must run as root"
ndra_select_platform
export PATH="$(ndra_node_bindir):$PATH"
export KUBECTL="$(ndra_k8s_bindir)/kubectl" HELM="$(ndra_helm_bin)"
declare -a phases=()
phase() { # name, command... : runs it and records its duration, failed or not
  local name=$1 t0=$SECONDS rc=0
  shift
  "$@" || rc=$?
  phases+=("$name $((SECONDS - t0))s$([[ $rc == 0 ]] || echo " (failed $rc)")")
  return $rc
}

log "Kubernetes $K8S_VERSION, containerd $CONTAINERD_VERSION"
phase build-k8s bash scripts/build/k8s.sh all
phase build-containerd bash scripts/build/containerd.sh all
phase build-driver npm run build
phase images bash -c 'bash scripts/images/stage-plugin.sh && bash scripts/images/build.sh build'
trap 'bash scripts/cluster/down.sh || true; log "phases: ${phases[*]}"' EXIT
bash scripts/cluster/down.sh >/dev/null 2>&1 || true
phase cluster-up bash scripts/cluster/up.sh
phase tests npx tap --disable-coverage --jobs=1 --timeout=3600 "${@:-test/e2e}"
