#!/usr/bin/env bash
# test-all.sh — the whole test suite on a fresh machine, as CI runs it: installs every system
# package and the pinned Node.js, installs npm dependencies, builds (Kubernetes binaries cached
# outside the repo), then runs check, unit, integration and end-to-end tests. Prints the duration of
# each stage and a closing "N passed, N failed" line. Must run as root.
#
#   bash scripts/test-all.sh              # everything
#   STAGES="unit integration" bash scripts/test-all.sh   # a subset (install/deps/build always run)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAGES="${STAGES:-check unit integration e2e}"
LOG_DIR="${LOG_DIR:-/var/log/network-dra/test-all}"
mkdir -p "$LOG_DIR"
[[ $(id -u) == 0 ]] || { echo "test-all.sh must run as root (integration and e2e tests use netns, runc, a kubelet)" >&2; exit 2; }

declare -a SUMMARY=()
passed=0; failed=0; status=0
stage() { # name, command...
  local name=$1; shift
  local start=$SECONDS
  echo "::: stage $name"
  if "$@" 2>&1 | tee "$LOG_DIR/$name.log"; then rc=0; else rc=${PIPESTATUS[0]}; fi
  local dur=$((SECONDS - start))
  SUMMARY+=("$(printf '%-12s %5ss  %s' "$name" "$dur" "$([[ $rc == 0 ]] && echo ok || echo "FAILED ($rc)")")")
  # tap's closing line: "# { total: N, pass: P, fail: F ... }"
  local line p f
  line=$(grep -E '^# \{ total: [0-9]+' "$LOG_DIR/$name.log" | tail -n 1 || true)
  if [[ -n $line ]]; then
    p=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$line"); f=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  fi
  if [[ $rc != 0 ]]; then status=1; [[ -n $line && -z ${f:-} ]] && failed=$((failed + 1)); fi
  return 0
}

stage install bash scripts/install/deps.sh
NODE_BIN=$(bash scripts/install/node.sh)
export PATH="$NODE_BIN:$PATH"
stage deps npm ci --no-audit --no-fund
stage k8s-build bash scripts/build/k8s.sh all
stage build npm run build
[[ $status == 0 ]] || { printf '%s\n' "${SUMMARY[@]}"; echo "0 passed, 1 failed"; exit 1; }

for s in $STAGES; do
  case $s in
    check) stage check npm run check ;;
    unit) stage unit npm run test:unit ;;
    integration) stage integration npm run test:integration ;;
    e2e) stage e2e bash scripts/e2e.sh ;;
    *) echo "unknown stage $s" >&2; exit 2 ;;
  esac
done

echo
echo "== stage durations =="
printf '%s\n' "${SUMMARY[@]}"
echo "$passed passed, $failed failed"
exit $status
