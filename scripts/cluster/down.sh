#!/usr/bin/env bash
# down.sh — stops the single-node cluster started by up.sh and undoes its host changes: processes
# by PID (SIGTERM, wait, SIGKILL), containers and their shims through containerd's own state dir,
# mounts under its kubelet/containerd dirs, pod netns, the ndra0 bridge and its veths, KUBE-*,
# NDRA-CLUSTER-* and its CNI iptables chains, the kubepods cgroups, and the sysctls and root mount
# propagation recorded at up-time; then what the network-dra DaemonSet left on the node through its
# hostPath volumes (state file, hook socket dir, installed hook, CDI specs), since the claims they
# describe died with the cluster, and the test links (ndra-demo0, ndra-hostif0, ndra-e2e-br0). Keeps
# $NDRA_CLUSTER_DIR/logs. Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ndra_setup_mode full
[[ $EUID == 0 ]] || die "must run as root"
mkdir -p /run/lock
exec 8>/run/lock/network-dra-cluster.lock
flock -w 300 8 || die "another up/down is running"
T0=$SECONDS
ndra_full_down
rm -rf /var/lib/network-dra /run/network-dra /opt/network-dra/bin
rm -f /var/run/cdi/network-dra.dev-net_*.json
# The links scripts/demo.sh and the e2e tests create in the node namespace (veth pairs, and the
# admin network's bridge of test/e2e/values.yaml).
for link in ndra-demo0 ndra-hostif0 ndra-e2e-br0; do ip link del "$link" 2>/dev/null || true; done
log "cluster down in $((SECONDS - T0))s"
