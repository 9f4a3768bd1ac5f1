#!/usr/bin/env bash
# build-k8s.sh — builds the Kubernetes binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy, kubectl) from the k8s.io/kubernetes Go module at a pinned
# version, version-stamped, plus helm from its Go module. Output is cached outside the repository,
# keyed by version, and reused when present.
#
# Environment (all optional):
#   K8S_VERSION      kubernetes tag to build (default below: latest 1.35 patch on the module proxy)
#   HELM_VERSION     helm v3 tag to build
#   NETWORK_DRA_CACHE cache root (default /var/cache/network-dra)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
HELM_VERSION="${HELM_VERSION:-v3.19.0}"
CACHE="${NETWORK_DRA_CACHE:-/var/cache/network-dra}"
OUT="$CACHE/k8s/$K8S_VERSION/bin"
HELM_OUT="$CACHE/helm/$HELM_VERSION/bin"
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

log() { printf '[build-k8s] %s\n' "$*" >&2; }

# A Go that can switch toolchains (>= 1.21): the k8s go.mod asks for 1.25, and GOTOOLCHAIN=auto
# fetches that toolchain as a module from the Go module proxy. Use the machine's Go (PATH or
# /usr/local/go); otherwise install Debian trixie's golang-1.24 (apt source set up by install-deps.sh).
ensure_go() {
  local cand v
  for cand in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go-1.24/bin/go; do
    [[ -n $cand && -x $cand ]] || continue
    v=$("$cand" env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p')
    if [[ -n $v && $v -ge 21 ]]; then
      export PATH="$(dirname "$cand"):$PATH"
      export GOTOOLCHAIN=auto
      return
    fi
  done
  log "no Go >= 1.21 found; installing golang-1.24-go from trixie"
  apt-get install -y --no-install-recommends -t trixie golang-1.24-go >&2
  export PATH="/usr/lib/go-1.24/bin:$PATH" GOTOOLCHAIN=auto
}

build_k8s() {
  local ok=1
  for b in "${BINS[@]}"; do [[ -x "$OUT/$b" ]] || ok=0; done
  if [[ $ok == 1 ]]; then log "kubernetes $K8S_VERSION cached in $OUT"; return; fi

  local minor patch staging work
  minor="$(cut -d. -f2 <<<"${K8S_VERSION#v}")"
  patch="$(cut -d. -f3 <<<"${K8S_VERSION#v}")"
  local sv="v0.${minor}.${patch}"
  work="$CACHE/k8s/$K8S_VERSION/src"
  mkdir -p "$work" "$OUT"
  staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
    mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)
  {
    echo "module local/kbuild"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do echo "	k8s.io/$m => k8s.io/$m $sv"; done
    echo ")"
  } >"$work/go.mod"
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  cd "$work"
  log "resolving modules for kubernetes $K8S_VERSION"
  GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || GOFLAGS=-mod=mod go mod tidy
  local ldf="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldf="$ldf -X $p.gitTreeState=clean -X $p.gitCommit=0000000000000000000000000000000000000000"
    ldf="$ldf -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  log "building ${BINS[*]} (cold: tens of minutes on 2 cores)"
  local pkgs=()
  for b in "${BINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "$ldf" -o "$OUT/" "${pkgs[@]}"
  log "kubernetes $K8S_VERSION built into $OUT"
}

build_helm() {
  if [[ -x "$HELM_OUT/helm" ]]; then log "helm $HELM_VERSION cached in $HELM_OUT"; return; fi
  mkdir -p "$HELM_OUT"
  log "building helm $HELM_VERSION"
  CGO_ENABLED=0 GOBIN="$HELM_OUT" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

case "${1:-all}" in
  k8s) ensure_go; build_k8s ;;
  helm) ensure_go; build_helm ;;
  all) ensure_go; build_helm; build_k8s ;;
  print-bindir) echo "$OUT" ;;
  print-helm) echo "$HELM_OUT/helm" ;;
  *) echo "usage: $0 [all|k8s|helm|print-bindir|print-helm]" >&2; exit 2 ;;
esac
