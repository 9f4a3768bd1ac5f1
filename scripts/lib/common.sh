# shellcheck shell=bash
# common.sh — the shell helpers every script under scripts/ shares, defined once: logging, the
# pinned versions (scripts/versions.env), the selected Kubernetes × containerd combination
# (K8S_VERSION, CONTAINERD_VERSION), the build cache's paths and a Go toolchain. Sourced, never run.
#
# Environment read here (all optional):
#   K8S_VERSION         Kubernetes tag, vMAJOR.MINOR.PATCH (default: the newest supported combination)
#   CONTAINERD_VERSION  1.7 (Debian's package) or a 2.x release MAJOR.MINOR.PATCH (default: the one paired
#                       with K8S_VERSION in SUPPORTED)
#   NDRA_ALLOW_UNSUPPORTED=1  accept a combination that is not in SUPPORTED
#   NETWORK_DRA_CACHE   build cache root (default /var/cache/network-dra)

NDRA_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NDRA_REPO="$(cd "$NDRA_SCRIPTS_DIR/.." && pwd)"
NDRA_VERSIONS_FILE="$NDRA_SCRIPTS_DIR/versions.env"
NDRA_CACHE="${NETWORK_DRA_CACHE:-/var/cache/network-dra}"
: "${NDRA_LOG_TAG:=$(basename "$0" .sh)}"

log() { printf '[%s %(%H:%M:%S)T] %s\n' "$NDRA_LOG_TAG" -1 "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# ndra_version KEY : prints the value of KEY in versions.env (no shell expansion of the file).
ndra_version() {
  local key="$1" line
  line="$(grep -E "^$key=" "$NDRA_VERSIONS_FILE" | tail -n 1)" || die "$key missing in $NDRA_VERSIONS_FILE"
  printf '%s\n' "${line#*=}"
}

# ndra_select_platform : normalises and validates K8S_VERSION / CONTAINERD_VERSION and exports
# them. Without K8S_VERSION the last (newest) SUPPORTED combination is used; without
# CONTAINERD_VERSION the containerd paired with K8S_VERSION.
ndra_select_platform() {
  local supported combo pair_k pair_c default_k="" default_c="" want_c=""
  read -r -a supported <<<"$(ndra_version SUPPORTED)"
  for combo in "${supported[@]}"; do
    default_k="${combo%%/*}" default_c="${combo#*/}"
  done
  K8S_VERSION="${K8S_VERSION:-$default_k}"
  K8S_VERSION="v${K8S_VERSION#v}"
  if [[ -n "${CONTAINERD_VERSION:-}" ]]; then
    want_c="${CONTAINERD_VERSION#v}"
  else
    for combo in "${supported[@]}"; do
      pair_k="${combo%%/*}" pair_c="${combo#*/}"
      [[ $pair_k == "$K8S_VERSION" ]] && want_c="$pair_c"
    done
    want_c="${want_c:-$default_c}"
  fi
  CONTAINERD_VERSION="$want_c"
  if [[ "${NDRA_ALLOW_UNSUPPORTED:-0}" != 1 ]]; then
    local ok=0
    for combo in "${supported[@]}"; do
      [[ $combo == "$K8S_VERSION/$CONTAINERD_VERSION" ]] && ok=1
    done
    ((ok)) || die "K8S_VERSION=$K8S_VERSION CONTAINERD_VERSION=$CONTAINERD_VERSION is not a supported combination (${supported[*]}); NDRA_ALLOW_UNSUPPORTED=1 to try it anyway"
  fi
  export K8S_VERSION CONTAINERD_VERSION
}

# Minor of a Kubernetes tag: v1.MINOR.PATCH -> MINOR.
ndra_k8s_minor() { cut -d. -f2 <<<"${1:-$K8S_VERSION}"; }

# True when the selected containerd is Debian's 1.7 package (not one we build).
ndra_containerd_is_debian() { [[ ${CONTAINERD_VERSION:-} == 1.7 ]]; }

# Cache paths (keyed by version; a component is "built" when its binaries exist there).
ndra_k8s_bindir() { echo "$NDRA_CACHE/k8s/${1:-$K8S_VERSION}/bin"; }
ndra_helm_bin() { echo "$NDRA_CACHE/helm/$(ndra_version HELM_VERSION)/bin/helm"; }
ndra_runc_bindir() { echo "$NDRA_CACHE/runc/$(ndra_version RUNC_VERSION)/bin"; }
# Directory with containerd, containerd-shim-runc-v2 and ctr for the selected containerd.
ndra_containerd_bindir() {
  if ndra_containerd_is_debian; then echo /usr/bin; else echo "$NDRA_CACHE/containerd/v${CONTAINERD_VERSION#v}/bin"; fi
}
# The runc the selected containerd runs: Debian's for 1.7, the pinned build for 2.x.
ndra_runc_bin() {
  if ndra_containerd_is_debian; then command -v runc || echo /usr/sbin/runc; else echo "$(ndra_runc_bindir)/runc"; fi
}

# ndra_ensure_go : puts a Go >= 1.21 first on PATH (it fetches the toolchain a go.mod asks for
# from the Go module proxy: GOTOOLCHAIN=auto); installs trixie's golang-1.24 if there is none.
ndra_ensure_go() {
  local cand v
  for cand in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go-1.24/bin/go; do
    [[ -n $cand && -x $cand ]] || continue
    v=$("$cand" env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p')
    if [[ -n $v && $v -ge 21 ]]; then
      PATH="$(dirname "$cand"):$PATH"
      export PATH GOTOOLCHAIN=auto
      return
    fi
  done
  log "no Go >= 1.21 found; installing golang-1.24-go from trixie"
  apt-get install -y --no-install-recommends -t trixie golang-1.24-go >&2
  export PATH="/usr/lib/go-1.24/bin:$PATH" GOTOOLCHAIN=auto
}

# ndra_node_bindir : installs (if needed) the pinned Node.js and prints its bin directory.
ndra_node_bindir() { bash "$NDRA_SCRIPTS_DIR/install/node.sh"; }
