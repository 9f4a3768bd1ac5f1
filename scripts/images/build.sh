#!/usr/bin/env bash
# build.sh — builds the cluster's container images offline with podman and imports them into the
# local cluster's containerd (no registry anywhere):
#   localhost/pause:v1                 sandbox image (static catatonit -P)
#   localhost/network-dra-test:v1      test workload (static busybox + relative applet links)
#   localhost/network-dra-node:<NODE_VERSION> Node.js runtime base (node + the libraries ldd lists)
#   localhost/network-dra:dev          the plugin, from the repository's Containerfile (if present)
#
#   scripts/images/build.sh cluster   build pause, test and Node base (skips one whose inputs did not change)
#   scripts/images/build.sh plugin    build the plugin image (needs `npm run build && scripts/images/stage-plugin.sh`)
#   scripts/images/build.sh build     cluster + plugin
#   scripts/images/build.sh import    podman save + ctr import of every one that exists into the cluster's containerd
#   scripts/images/build.sh [all]     build, then import if the cluster's containerd is running
#
# Environment: NDRA_NODE_BIN (node binary, default the pinned Node.js of scripts/install/node.sh),
# NDRA_CTRD_SOCK (containerd socket, default the one scripts/cluster/up.sh starts), NDRA_CTR (its
# ctr, default the one of CONTAINERD_VERSION),
# NDRA_IMAGES_CACHE (saved archives, default $NETWORK_DRA_CACHE/images).
set -euo pipefail

NDRA_LOG_TAG=images
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
HERE="$NDRA_SCRIPTS_DIR/images"
REPO="$NDRA_REPO"
NODE_VERSION="$(ndra_version NODE_VERSION)"
NODE_BIN="${NDRA_NODE_BIN:-$(ndra_node_bindir)/node}"
CTRD_SOCK="${NDRA_CTRD_SOCK:-/run/network-dra-cluster/containerd/containerd.sock}"
CTR="${NDRA_CTR:-$(ndra_select_platform && echo "$(ndra_containerd_bindir)/ctr")}"
CACHE="${NDRA_IMAGES_CACHE:-$NDRA_CACHE/images}"

PAUSE_IMAGE=localhost/pause:v1
TEST_IMAGE=localhost/network-dra-test:v1
NODE_IMAGE="localhost/network-dra-node:$NODE_VERSION"
PLUGIN_IMAGE=localhost/network-dra:dev
TEST_APPLETS=(sh ash sleep cat ip ls echo ps env id hostname grep sed awk head tail wc printf test
  true false mkdir rm nc ping mount cut sort date uname ifconfig route nsenter timeout)

# build_ctx NAME IMAGE CONTEXT_DIR : podman build unless the image carries the same input hash.
build_ctx() {
  local name="$1" image="$2" ctx="$3" hash have
  hash="$(cd "$ctx" && find . -type f -o -type l | LC_ALL=C sort | while read -r f; do
    if [[ -L $f ]]; then printf '%s -> %s\n' "$f" "$(readlink "$f")"; else sha256sum "$f"; fi
  done | sha256sum | cut -c1-32)"
  have="$(podman image inspect --format '{{index .Labels "dev.network-dra.inputs"}}' "$image" 2>/dev/null || true)"
  if [[ $have == "$hash" ]]; then
    log "$image up to date"
    return
  fi
  log "building $image"
  podman build --network=none --quiet --label "dev.network-dra.inputs=$hash" -t "$image" "$ctx" >/dev/null
}

build_pause() {
  local ctx="$1/pause"
  mkdir -p "$ctx"
  cp "$HERE/pause/Containerfile" "$ctx/"
  cp /usr/bin/catatonit "$ctx/catatonit"
  build_ctx pause "$PAUSE_IMAGE" "$ctx"
}

build_test() {
  local ctx="$1/test" a
  mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc"
  chmod 1777 "$ctx/rootfs/tmp"
  cp "$HERE/test/Containerfile" "$ctx/"
  cp /bin/busybox "$ctx/rootfs/bin/busybox"
  local have
  have=" $(/bin/busybox --list | tr '\n' ' ') "
  for a in "${TEST_APPLETS[@]}"; do
    [[ $have == *" $a "* ]] && ln -s busybox "$ctx/rootfs/bin/$a"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$ctx/rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$ctx/rootfs/etc/group"
  build_ctx test "$TEST_IMAGE" "$ctx"
}

build_node() {
  local ctx="$1/node" lib
  [[ -x $NODE_BIN ]] || {
    log "ERROR: $NODE_BIN missing (run scripts/install/node.sh)"
    exit 1
  }
  mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/tmp"
  chmod 1777 "$ctx/rootfs/tmp"
  cp "$HERE/node/Containerfile" "$ctx/"
  cp "$NODE_BIN" "$ctx/rootfs/usr/local/bin/node"
  # Every library ldd resolves (absolute paths: "x => /path (addr)" and the loader "/path (addr)").
  while read -r lib; do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done < <(ldd "$NODE_BIN" | awk '{for (i=1;i<=NF;i++) if ($i ~ /^\//) {print $i; break}}')
  build_ctx node "$NODE_IMAGE" "$ctx"
}

build_plugin() {
  if [[ ! -f "$REPO/Containerfile" ]]; then
    log "no Containerfile at the repository root: $PLUGIN_IMAGE not built"
    return
  fi
  if [[ ! -d "$REPO/build/image" ]]; then
    log "ERROR: build/image/ not staged: run 'npm run build && scripts/images/stage-plugin.sh' first"
    exit 1
  fi
  log "building $PLUGIN_IMAGE from $REPO/Containerfile"
  podman build --network=none --quiet --build-arg "NODE_VERSION=$NODE_VERSION" -f "$REPO/Containerfile" \
    -t "$PLUGIN_IMAGE" "$REPO" >/dev/null
}

# The images the cluster itself needs (pause) and the bases tests and the plugin build on.
do_build_cluster() {
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  build_pause "$work"
  build_test "$work"
  build_node "$work"
}

do_import() {
  [[ -S $CTRD_SOCK ]] || {
    log "ERROR: no containerd socket at $CTRD_SOCK (start the cluster: scripts/cluster/up.sh)"
    exit 1
  }
  mkdir -p "$CACHE"
  local img f
  # The Node base is not imported: pods run the plugin image, which already contains it.
  for img in "$PAUSE_IMAGE" "$TEST_IMAGE" "$PLUGIN_IMAGE"; do
    podman image exists "$img" || continue
    f="$CACHE/$(tr '/:' '__' <<<"$img").tar"
    rm -f "$f"
    podman save --quiet --format oci-archive -o "$f" "$img"
    "$CTR" --address "$CTRD_SOCK" -n k8s.io images import "$f" >/dev/null
    log "imported $img"
  done
}

case "${1:-all}" in
  cluster) do_build_cluster ;;
  plugin) build_plugin ;;
  build)
    do_build_cluster
    build_plugin
    ;;
  import) do_import ;;
  all)
    do_build_cluster
    build_plugin
    if [[ -S $CTRD_SOCK ]]; then do_import; else log "cluster containerd not running: not imported"; fi
    ;;
  *)
    echo "usage: $0 [all|cluster|plugin|build|import]" >&2
    exit 2
    ;;
esac
