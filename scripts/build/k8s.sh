#!/usr/bin/env bash
# k8s.sh — builds the Kubernetes binaries (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy, kubectl) of K8S_VERSION from the k8s.io/kubernetes Go module, version-stamped,
# plus helm from its Go module. Output is cached outside the repository, keyed by version
# ($NETWORK_DRA_CACHE/k8s/<version>/bin, .../helm/<version>/bin), and reused when present.
#
#   scripts/build/k8s.sh [all|k8s|helm|print-bindir|print-helm]
#
# Versions come from scripts/versions.env (K8S_VERSION selects one of them; default: the newest).
# The wrapper module's `go` line and its list of staging modules (k8s.io/api, ... each replaced by
# its published v0.<minor>.<patch> tag) are read from the tag's own go.mod, so a new minor that adds
# a staging module (1.36: cri-streaming, streaming) needs no change here.
set -euo pipefail
NDRA_LOG_TAG=build-k8s
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
ndra_select_platform

HELM_VERSION="$(ndra_version HELM_VERSION)"
OUT="$(ndra_k8s_bindir)"
HELM_OUT="$(dirname "$(ndra_helm_bin)")"
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

k8s_cached() {
  local b
  for b in "${BINS[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
}

build_k8s() {
  if k8s_cached; then
    log "kubernetes $K8S_VERSION cached in $OUT"
    return
  fi
  local minor patch sv work upstream_mod go_line staging m t0=$SECONDS
  minor="$(ndra_k8s_minor)"
  patch="$(cut -d. -f3 <<<"$K8S_VERSION")"
  sv="v0.${minor}.${patch}"
  work="$NDRA_CACHE/k8s/$K8S_VERSION/src"
  mkdir -p "$work" "$OUT"
  cd "$work"
  log "reading the go.mod of k8s.io/kubernetes@$K8S_VERSION"
  upstream_mod="$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -nE 's/^\s*"GoMod": "(.*)",?$/\1/p')"
  [[ -f $upstream_mod ]] || die "could not download the go.mod of k8s.io/kubernetes@$K8S_VERSION"
  go_line="$(grep -m1 -E '^go [0-9.]+$' "$upstream_mod")"
  mapfile -t staging < <(sed -nE 's#^\s*(k8s\.io/[A-Za-z0-9._-]+) => \./staging/.*#\1#p' "$upstream_mod" | sort -u)
  ((${#staging[@]} > 20)) || die "found only ${#staging[@]} staging modules in $upstream_mod"
  {
    echo "module local/kbuild"
    echo
    echo "$go_line"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$sv"; done
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
  log "resolving modules for kubernetes $K8S_VERSION ($go_line, ${#staging[@]} staging modules at $sv)"
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
  log "kubernetes $K8S_VERSION built into $OUT in $((SECONDS - t0))s"
}

build_helm() {
  if [[ -x "$HELM_OUT/helm" ]]; then
    log "helm $HELM_VERSION cached in $HELM_OUT"
    return
  fi
  local t0=$SECONDS
  mkdir -p "$HELM_OUT"
  log "building helm $HELM_VERSION"
  CGO_ENABLED=0 GOBIN="$HELM_OUT" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  log "helm $HELM_VERSION built in $((SECONDS - t0))s"
}

# One build per version at a time (CI, the demo and a helper may ask for the same one at once).
locked() {
  mkdir -p "$NDRA_CACHE"
  exec 9>"$NDRA_CACHE/.build-$1.lock"
  flock 9
}

case "${1:-all}" in
  k8s) ndra_ensure_go && locked "k8s-$K8S_VERSION" && build_k8s ;;
  helm) ndra_ensure_go && locked "helm-$HELM_VERSION" && build_helm ;;
  all)
    ndra_ensure_go
    (locked "helm-$HELM_VERSION" && build_helm)
    (locked "k8s-$K8S_VERSION" && build_k8s)
    ;;
  print-bindir) echo "$OUT" ;;
  print-helm) echo "$HELM_OUT/helm" ;;
  *)
    echo "usage: $0 [all|k8s|helm|print-bindir|print-helm]" >&2
    exit 2
    ;;
esac
