#!/usr/bin/env bash
# deps.sh — installs every system package the project needs on a Debian 12 (bookworm)
# machine, idempotently, then the pinned Node.js (scripts/install/node.sh).
#
# containerd 1.7 (CDI support) and etcd-server 3.5 are not in bookworm; they come from Debian trixie.
# A trixie source is added with apt preferences that keep every trixie package at priority 1
# (never chosen, never an upgrade) except exactly those two packages, so nothing else — libc in
# particular — is upgraded. If the machine already has a trixie source, it is reused.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

NDRA_LOG_TAG=install-deps
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
HERE="$NDRA_SCRIPTS_DIR/install"

# Packages from bookworm (the machine's own release).
BOOKWORM_PKGS=(
  runc                        # OCI runtime used by containerd (bookworm 1.1.5; trixie's needs newer libc)
  containernetworking-plugins # CNI plugins in /usr/lib/cni (bridge, host-local, loopback, macvlan, ...)
  podman                      # builds the images offline (podman build --network=none)
  iproute2                    # ip, nsenter-style netns work in tests
  iptables                    # kube-proxy iptables mode, CNI chains
  conntrack                   # kube-proxy
  openssl                     # cluster certificates
  catatonit                   # static init: payload of the pause image
  busybox-static              # payload of the test image
  util-linux                  # nsenter, mount, unshare
  procps                      # ps, sysctl
  libseccomp-dev              # runc for containerd 2.x is built with seccomp (scripts/build/containerd.sh)
  time gcc make ca-certificates
)
# Packages taken from trixie, each pinned by name.
TRIXIE_PKGS=(containerd etcd-server)

SOURCES=/etc/apt/sources.list.d/network-dra-trixie.sources
PREFS=/etc/apt/preferences.d/network-dra-trixie

has_trixie_source() {
  grep -rqsE '(^|\s)trixie(\s|$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null
}

did=()

if has_trixie_source && [[ ! -f $SOURCES ]]; then
  log "a trixie source is already configured; reusing it"
elif [[ ! -f $SOURCES ]]; then
  cat >"$SOURCES" <<'SRC'
# Added by network-dra scripts/install/deps.sh: only containerd and etcd-server come from here
# (see /etc/apt/preferences.d/network-dra-trixie).
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  did+=("added $SOURCES")
fi

want_prefs="$(
  cat <<PREF
# Added by network-dra scripts/install/deps.sh.
# Only these packages come from trixie ...
Package: ${TRIXIE_PKGS[*]}
Pin: release n=trixie
Pin-Priority: 990

# ... every other trixie package stays below the installed versions (priority 100): never an upgrade.
Package: *
Pin: release n=trixie
Pin-Priority: 1
PREF
)"
if [[ ! -f $PREFS || "$(cat "$PREFS")" != "$want_prefs" ]]; then
  printf '%s\n' "$want_prefs" >"$PREFS"
  did+=("wrote $PREFS")
fi

log "apt-get update"
apt-get update -qq

libc_before="$(dpkg-query -W -f='${Version}' libc6)"
missing=()
for p in "${BOOKWORM_PKGS[@]}" "${TRIXIE_PKGS[@]}"; do
  [[ $p == \#* ]] && continue
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
# A containerd from bookworm (1.6, no CDI) would be too old: make sure the trixie one is installed.
if dpkg-query -W -f='${Version}' containerd 2>/dev/null | grep -q '^1\.6\.'; then
  missing+=(containerd)
fi
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  did+=("installed ${missing[*]}")
fi
libc_after="$(dpkg-query -W -f='${Version}' libc6)"
if [[ $libc_before != "$libc_after" ]]; then
  log "ERROR: libc6 changed from $libc_before to $libc_after — the trixie pinning leaked"
  exit 1
fi

# Sanity: the versions the cluster harness relies on.
ctr_ver="$(containerd --version | awk '{print $3}')"
case "$ctr_ver" in
  1.7.* | v1.7.*) ;;
  *) log "ERROR: containerd $ctr_ver is not 1.7.x"; exit 1 ;;
esac
etcd_ver="$(etcd --version | awk '/etcd Version/ {print $3}')"
for f in /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback /usr/bin/catatonit /bin/busybox; do
  [[ -x $f ]] || { log "ERROR: $f missing after install"; exit 1; }
done

node_bin="$("$HERE/node.sh")"

echo "install-deps: done"
if ((${#did[@]})); then printf '  - %s\n' "${did[@]}"; else echo "  - nothing to do (all present)"; fi
echo "  containerd $ctr_ver, etcd $etcd_ver, runc $(runc --version | awk 'NR==1{print $3}'), podman $(podman --version | awk '{print $3}'), libc6 $libc_after"
echo "  node: $node_bin/node ($("$node_bin/node" --version))"
