#!/usr/bin/env bash
# demo.sh — the one-command demo on a fresh machine (as root): installs every system package and the
# pinned Node.js, builds the driver and the Kubernetes binaries (cached outside the repo), brings up
# the local single-node cluster, helm-installs the driver from its chart with the locally built
# image, applies demos A, B and C from examples/ and prints, per pod, its interfaces and its claim
# status. The cluster stays up afterwards; `bash scripts/cluster/down.sh` removes it.
# K8S_VERSION / CONTAINERD_VERSION pick the platform (scripts/versions.env; default: the newest).
set -euo pipefail
NDRA_LOG_TAG=demo
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$NDRA_REPO"
[[ $(id -u) == 0 ]] || die "demo.sh must run as root"
ndra_select_platform
NS=${DEMO_NAMESPACE:-network-dra-demo}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing system packages and Node.js"
bash scripts/install/deps.sh
export PATH="$(ndra_node_bindir):$PATH"
say "installing npm dependencies and building"
npm ci --no-audit --no-fund
npm run build
say "building Kubernetes $K8S_VERSION and containerd $CONTAINERD_VERSION (cached after the first run)"
bash scripts/build/k8s.sh all
bash scripts/build/containerd.sh all
KBIN=$(ndra_k8s_bindir)
HELM=$(ndra_helm_bin)
say "building images (no registry: podman build, then import into containerd)"
bash scripts/images/stage-plugin.sh
bash scripts/images/build.sh build
say "bringing up the single-node cluster"
bash scripts/cluster/up.sh
export KUBECONFIG=/var/lib/network-dra-cluster/admin.kubeconfig
k() { "$KBIN/kubectl" "$@"; }

# Demo A's macvlan master: a veth in the node namespace whose both ends are ours (carries nothing out).
ip link show ndra-demo0 >/dev/null 2>&1 || {
  ip link add ndra-demo0 type veth peer name ndra-demo0p
  ip link set ndra-demo0 up && ip link set ndra-demo0p up
}

say "installing the driver with helm (chart defaults + the demo allowance, examples/values-demo.yaml)"
# test/e2e/values.yaml: the locally built image tag, the test's own links and network. values-demo.yaml:
# what the admin allows for the demos (namespace $NS may write raw networks on ndra-demo0 in
# 10.10.0.0/16; see examples/README.md). A DEMO_NAMESPACE it does not grant is refused at admission.
"$HELM" upgrade --install network-dra charts/network-dra -n network-dra-system --create-namespace \
  -f test/e2e/values.yaml -f examples/values-demo.yaml --wait --timeout 5m
node=$(k get nodes -o jsonpath='{.items[0].metadata.name}')
for _ in $(seq 60); do
  n=$(k get resourceslices --field-selector "spec.driver=network-dra.dev,spec.nodeName=$node" \
    -o jsonpath='{range .items[*]}{range .spec.devices[*]}{.name}{"\n"}{end}{end}' | grep -c . || true)
  [[ $n -ge 128 ]] && break
  sleep 1
done
echo "ResourceSlices of $node publish $n devices"

say "applying demos A, B and C"
k create namespace "$NS" --dry-run=client -o yaml | k apply -f -
k apply -n "$NS" -f examples/demo-a.yaml
k wait -n "$NS" --for=condition=Ready pod/demo-a --timeout=180s
k apply -n "$NS" -f examples/demo-b.yaml
k apply -n "$NS" -f examples/demo-c.yaml
k rollout status -n "$NS" deployment/demo-c --timeout=180s
sleep 3

say "pods, their interfaces and their claim status"
for pod in $(k get pods -n "$NS" -o jsonpath='{.items[*].metadata.name}'); do
  phase=$(k get pod -n "$NS" "$pod" -o jsonpath='{.status.phase}')
  echo "--- pod $pod ($phase)"
  if [[ $phase == Running ]]; then
    k exec -n "$NS" "$pod" -- ip -o -4 addr show | awk '{print "    " $2 " " $4}'
  else
    k get events -n "$NS" --field-selector "involvedObject.name=$pod" -o jsonpath='{range .items[*]}    {.reason}: {.message}{"\n"}{end}' | tail -n 2
  fi
  for claim in $(k get pod -n "$NS" "$pod" -o jsonpath='{range .status.resourceClaimStatuses[*]}{.resourceClaimName}{" "}{end}{range .spec.resourceClaims[*]}{.resourceClaimName}{" "}{end}'); do
    echo "    claim $claim:"
    k get resourceclaim -n "$NS" "$claim" -o jsonpath='{range .status.devices[*]}      {.device}: {.networkData.interfaceName} {.networkData.ips} {.networkData.hardwareAddress} Ready={.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
  done
done
say "done — the cluster keeps running (KUBECONFIG=$KUBECONFIG); remove it with: bash scripts/cluster/down.sh"
