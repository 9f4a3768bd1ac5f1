#!/usr/bin/env bash
# stage-plugin.sh — assembles the plugin image's build input under build/image/ so the Containerfile
# only copies prepared trees (the image has no shell and no package manager to run build steps):
#   build/image/app/     dist/src (compiled daemon), proto/, package.json, package-lock.json and the
#                        production node_modules (npm ci --omit=dev --ignore-scripts)
#   build/image/rootfs/  /opt/network-dra/bin/network-dra-hook (the single-executable hook),
#                        /usr/bin/ip (host-link inventory, link events), /usr/bin/nsenter
#                        (device health: interfaces inside pod namespaces) and
#                        /usr/bin/chroot with the shared libraries they need beyond the ones the
#                        Node base image already carries (the plugin runs the node's CNI plugins
#                        through `chroot <host root mount> <plugin>`, CNI_HOST_ROOT)
# Run `npm run build` first. Then: podman build -f Containerfile -t localhost/network-dra:dev .
#
# Environment: HOOK_BINARY (default dist/hook/network-dra-hook), NDRA_NODE_BIN (the node whose
# libraries the base image carries, default the pinned Node.js of scripts/install/node.sh),
# CHROOT / IP_BIN / NSENTER (default: chroot / ip / nsenter found in PATH).
set -euo pipefail

NDRA_LOG_TAG=stage-plugin
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
root="$NDRA_REPO"
node_bin="${NDRA_NODE_BIN:-$(ndra_node_bindir)/node}"
hook="${HOOK_BINARY:-$root/dist/hook/network-dra-hook}"
chroot_bin="${CHROOT:-$(command -v chroot || true)}"
ip_bin="${IP_BIN:-$(command -v ip || true)}"
nsenter_bin="${NSENTER:-$(command -v nsenter || true)}"
out="$root/build/image"

[[ -f $root/dist/src/main.js ]] || die "dist/src/main.js missing: run 'npm run build' first"
[[ -x $hook ]] || die "hook executable $hook missing: run 'npm run build' (or set HOOK_BINARY)"
[[ -x $node_bin ]] || die "node binary $node_bin missing (run scripts/install/node.sh or set NDRA_NODE_BIN)"
[[ -n $chroot_bin && -x $chroot_bin ]] || die "chroot not found (coreutils, or set CHROOT)"
[[ -n $ip_bin && -x $ip_bin ]] || die "ip not found (apt-get install iproute2, or set IP_BIN)"
[[ -n $nsenter_bin && -x $nsenter_bin ]] || die "nsenter not found (util-linux, or set NSENTER)"

# ldd_paths BIN : absolute paths of the shared objects BIN loads (and the loader).
ldd_paths() {
  ldd "$1" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) { print $i; break }}'
}

rm -rf "$out"
mkdir -p "$out/app" "$out/rootfs/opt/network-dra/bin" "$out/rootfs/usr/bin"
# build/ holds only generated files: keep it out of git without touching the root .gitignore.
printf '*\n' >"$root/build/.gitignore"

log "app: dist/src, proto, package manifests"
mkdir -p "$out/app/dist"
cp -a "$root/dist/src" "$out/app/dist/src"
cp -a "$root/proto" "$out/app/proto"
cp "$root/package.json" "$root/package-lock.json" "$out/app/"

log "app: production node_modules (npm ci --omit=dev)"
# npm runs under the pinned node (first in PATH), whichever npm the machine has.
command -v npm >/dev/null || die "npm not found in PATH"
(cd "$out/app" && PATH="$(dirname "$node_bin"):$PATH" npm ci --omit=dev --ignore-scripts \
  --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
# Type declarations, TypeScript sources and source maps are never loaded at run time (Node does not
# strip types under node_modules): drop them, they are over half of the production tree.
find "$out/app/node_modules" -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete
if find "$out/app/node_modules" -name '*.node' -type f | grep -q .; then
  die "a production dependency ships a native addon; the image has no toolchain for it"
fi

log "rootfs: hook executable"
install -m 0755 "$hook" "$out/rootfs/opt/network-dra/bin/network-dra-hook"

# Helper binaries the daemon runs, with the libraries the Node base image lacks: chroot (the node's
# CNI plugins run inside the node's root filesystem, CNI_HOST_ROOT), ip (host-link inventory and
# `ip monitor link`) and nsenter (device health looks into pod network namespaces).
declare -A in_base=()
while read -r lib; do in_base["$(basename "$lib")"]=1; done < <(ldd_paths "$node_bin")
for bin in "$chroot_bin" "$ip_bin" "$nsenter_bin"; do
  log "rootfs: $bin and the libraries the Node base image lacks"
  install -m 0755 "$bin" "$out/rootfs/usr/bin/$(basename "$bin")"
  while read -r lib; do
    [[ -n ${in_base["$(basename "$lib")"]:-} ]] && continue
    mkdir -p "$out/rootfs$(dirname "$lib")"
    [[ -e $out/rootfs$lib ]] || cp -L "$lib" "$out/rootfs$lib"
    log "  + $lib"
  done < <(ldd_paths "$bin")
done

log "staged $(du -sh "$out" | cut -f1) in $out"
