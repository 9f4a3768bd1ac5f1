#!/usr/bin/env bash
# e2e.sh — end-to-end tests on a real single-node cluster: builds the images (plugin image from the
# Containerfile), brings the cluster up, runs test/e2e with tap, and always brings the cluster down
# (down.sh also removes the driver's node state: state file, CDI specs, installed hook), so runs
# repeat without manual cleanup. Needs root, scripts/install-deps.sh, the Kubernetes build and
# `npm run build` done. Arguments name the test files to run (default: all of test/e2e), e.g.
#   bash scripts/e2e.sh test/e2e/lifecycle.ts
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=$(bash scripts/install-node.sh)
export PATH="$NODE_BIN:$PATH"

[[ -f dist/src/main.js && -x dist/hook/network-dra-hook ]] || npm run build
bash scripts/stage-image.sh
bash scripts/images.sh build
trap 'bash scripts/cluster/down.sh || true' EXIT
bash scripts/cluster/down.sh >/dev/null 2>&1 || true
bash scripts/cluster/up.sh
bash scripts/images.sh import
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(test/e2e)
npx tap --disable-coverage --jobs=1 --timeout=3600 "${files[@]}"
