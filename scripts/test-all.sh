#!/usr/bin/env bash
# test-all.sh — the whole test suite on a fresh machine, as CI runs it (.ci/run): installs every
# system package and the pinned Node.js, installs npm dependencies, builds the driver, runs check
# and unit tests once, then — for each Kubernetes × containerd combination in CI_COMBINATIONS of
# scripts/versions.env (the oldest and the newest supported) — builds that Kubernetes (and
# containerd 2.x + runc when needed; all cached outside the repo by version) and runs the
# integration and end-to-end tests on it. Prints the duration of each stage and a closing
# "N passed, N failed" line. Must run as root.
#
#   bash scripts/test-all.sh                                  # everything
#   STAGES="unit integration" bash scripts/test-all.sh        # a subset (install/deps/build always run)
#   COMBINATIONS="<k8s>/<containerd> ..." bash scripts/test-all.sh   # other combinations (the matrix)
set -euo pipefail
NDRA_LOG_TAG=test-all
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$NDRA_REPO"
STAGES="${STAGES:-check unit integration e2e}"
COMBINATIONS="${COMBINATIONS:-$(ndra_version CI_COMBINATIONS)}"
LOG_DIR="${LOG_DIR:-/var/log/network-dra/test-all}"
mkdir -p "$LOG_DIR"
[[ $(id -u) == 0 ]] || die "test-all.sh must run as root (integration and e2e tests use netns, runc, a kubelet)"

declare -a SUMMARY=()
passed=0 failed=0 status=0
has_stage() { [[ " $STAGES " == *" $1 "* ]]; }
stage() { # name, command...
  local name=$1 rc line p f
  shift
  local start=$SECONDS
  echo "::: stage $name"
  if "$@" 2>&1 | tee "$LOG_DIR/$name.log"; then rc=0; else rc=${PIPESTATUS[0]}; fi
  local dur=$((SECONDS - start))
  SUMMARY+=("$(printf '%-34s %5ss  %s' "$name" "$dur" "$([[ $rc == 0 ]] && echo ok || echo "FAILED ($rc)")")")
  # tap's closing line: "# { total: N, pass: P, fail: F ... }"
  line=$(grep -E '^# \{ total: [0-9]+' "$LOG_DIR/$name.log" | tail -n 1 || true)
  p="" f=""
  if [[ -n $line ]]; then
    p=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$line")
    f=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
  fi
  if [[ $rc != 0 ]]; then
    status=1
    [[ -z $f || $f == 0 ]] && failed=$((failed + 1))
  fi
  return 0
}
finish() {
  echo
  echo "== stage durations =="
  printf '%s\n' "${SUMMARY[@]}"
  echo "$passed passed, $failed failed"
  exit $status
}

stage install bash scripts/install/deps.sh
export PATH="$(ndra_node_bindir):$PATH"
stage deps npm ci --no-audit --no-fund
stage build npm run build
[[ $status == 0 ]] || finish
has_stage check && stage check npm run check
has_stage unit && stage unit npm run test:unit

for combo in $COMBINATIONS; do
  k="${combo%%/*}" c="${combo#*/}"
  tag="$k+containerd-$c"
  export K8S_VERSION="$k" CONTAINERD_VERSION="$c"
  stage "k8s-build[$k]" bash scripts/build/k8s.sh all
  ndra_containerd_is_debian || stage "containerd-build[$c]" bash scripts/build/containerd.sh all
  has_stage integration && stage "integration[$k]" bash scripts/test/integration.sh
  has_stage e2e && stage "e2e[$tag]" bash scripts/e2e.sh
done
finish
