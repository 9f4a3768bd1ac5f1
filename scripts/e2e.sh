#!/usr/bin/env bash
# e2e.sh — end-to-end tests on a real single-node cluster: builds the images (plugin image from the
# Containerfile), brings the cluster up, runs test/e2e with tap, and always brings the cluster down
# and removes the driver's node state (state file, CDI specs, installed hook), so runs repeat
# without manual cleanup. Needs root, scripts/install-deps.sh, the Kubernetes build and
# `npm run build` done.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=$(bash scripts/install-node.sh)
export PATH="$NODE_BIN:$PATH"

clean_driver_node_state() {
  # What the chart's DaemonSet leaves on the node (hostPath volumes); the cluster is down by now.
  rm -rf /var/lib/network-dra /run/network-dra /opt/network-dra/bin
  rm -f /var/run/cdi/network-dra.dev-net_*.json
}

[[ -f dist/src/main.js && -x dist/hook/network-dra-hook ]] || npm run build
bash scripts/stage-image.sh
bash scripts/images.sh build
trap 'bash scripts/cluster/down.sh || true; clean_driver_node_state' EXIT
bash scripts/cluster/down.sh >/dev/null 2>&1 || true
clean_driver_node_state
bash scripts/cluster/up.sh
bash scripts/images.sh import
npx tap --disable-coverage --jobs=1 --timeout=1800 test/e2e "$@"
