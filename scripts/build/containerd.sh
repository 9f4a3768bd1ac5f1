#!/usr/bin/env bash
# containerd.sh — builds containerd 2.x (containerd, containerd-shim-runc-v2, ctr) of
# CONTAINERD_VERSION from the github.com/containerd/containerd/v2 Go module, and the runc it runs
# (RUNC_VERSION, github.com/opencontainers/runc), version-stamped. Output is cached outside the
# repository, keyed by version ($NETWORK_DRA_CACHE/containerd/v<version>/bin, .../runc/<version>/bin),
# and reused when present. With CONTAINERD_VERSION=1.7 there is nothing to build: containerd 1.7
# and runc 1.1.5 are Debian's packages (scripts/install/deps.sh).
#
#   scripts/build/containerd.sh [all|print-bindir|print-runc]
#
# Why a second runc: Debian bookworm's runc 1.1.5 does start containers under containerd 2.4
# (checked with `ctr run`), but containerd v2.4.2 is tested upstream with runc v1.5.2 (its
# script/setup/runc-version) and runc 1.1 is out of support, so 2.x runs the pinned RUNC_VERSION;
# containerd 1.7 keeps Debian's runc. runc is built with cgo (its nsenter is C) and with seccomp
# (libseccomp-dev from apt), without the optional libpathrs tag (a Rust library Debian does not
# ship; runc falls back to its pure-Go path resolution). containerd is built without cgo, so its
# btrfs snapshotter (cgo only) is left out; the cluster uses overlayfs.
set -euo pipefail
NDRA_LOG_TAG=build-containerd
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
ndra_select_platform

RUNC_VERSION="$(ndra_version RUNC_VERSION)"
CTRD_OUT="$(ndra_containerd_bindir)"
RUNC_OUT="$(ndra_runc_bindir)"

build_containerd() {
  local v="v${CONTAINERD_VERSION#v}" pkg=github.com/containerd/containerd/v2 t0=$SECONDS b ok=1
  for b in containerd containerd-shim-runc-v2 ctr; do [[ -x "$CTRD_OUT/$b" ]] || ok=0; done
  if ((ok)); then
    log "containerd $v cached in $CTRD_OUT"
    return
  fi
  mkdir -p "$CTRD_OUT"
  log "building containerd $v (containerd, containerd-shim-runc-v2, ctr)"
  CGO_ENABLED=0 GOBIN="$CTRD_OUT" go install -trimpath -tags "urfave_cli_no_docs no_btrfs" \
    -ldflags "-s -w -X $pkg/version.Version=$v -X $pkg/version.Revision=module-proxy -X $pkg/version.Package=$pkg" \
    "$pkg/cmd/containerd@$v" "$pkg/cmd/containerd-shim-runc-v2@$v" "$pkg/cmd/ctr@$v"
  log "containerd $v built into $CTRD_OUT in $((SECONDS - t0))s"
}

build_runc() {
  local t0=$SECONDS
  if [[ -x "$RUNC_OUT/runc" ]]; then
    log "runc $RUNC_VERSION cached in $RUNC_OUT"
    return
  fi
  [[ -f /usr/include/seccomp.h ]] || die "libseccomp-dev missing (run scripts/install/deps.sh)"
  command -v gcc >/dev/null || die "gcc missing (run scripts/install/deps.sh)"
  mkdir -p "$RUNC_OUT"
  log "building runc $RUNC_VERSION (cgo, seccomp)"
  CGO_ENABLED=1 GOBIN="$RUNC_OUT" go install -trimpath -buildmode=pie -tags "seccomp urfave_cli_no_docs" \
    -ldflags "-X main.gitCommit=module-proxy" "github.com/opencontainers/runc@$RUNC_VERSION"
  log "runc $RUNC_VERSION built into $RUNC_OUT in $((SECONDS - t0))s"
}

case "${1:-all}" in
  all)
    if ndra_containerd_is_debian; then
      log "containerd $CONTAINERD_VERSION is Debian's package: nothing to build"
      exit 0
    fi
    ndra_ensure_go
    mkdir -p "$NDRA_CACHE"
    exec 9>"$NDRA_CACHE/.build-containerd.lock"
    flock 9
    build_containerd
    build_runc
    ;;
  print-bindir) echo "$CTRD_OUT" ;;
  print-runc) ndra_runc_bin ;;
  *)
    echo "usage: $0 [all|print-bindir|print-runc]" >&2
    exit 2
    ;;
esac
