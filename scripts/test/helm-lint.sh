#!/usr/bin/env bash
# Lints the Helm chart strictly and renders it with its defaults and with every
# charts/network-dra/ci/*-values.yaml file. Fails on the first problem.
# HELM may point at a helm v3 binary; default: the project's cached helm.
set -euo pipefail

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
chart="$NDRA_REPO/charts/network-dra"
helm="${HELM:-$(ndra_helm_bin)}"

if [[ ! -x "$helm" ]]; then
  echo "helm-lint: helm not found at $helm (set HELM=/path/to/helm)" >&2
  exit 1
fi

echo "helm-lint: $("$helm" version --short) on $chart"
"$helm" lint --strict "$chart"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

"$helm" template ndra "$chart" --namespace network-dra >"$out/default.yaml"
echo "helm-lint: rendered defaults ($(grep -c '^kind:' "$out/default.yaml") objects)"

shopt -s nullglob
files=("$chart"/ci/*-values.yaml)
if ((${#files[@]} == 0)); then
  echo "helm-lint: no ci/*-values.yaml files found" >&2
  exit 1
fi
for f in "${files[@]}"; do
  name="$(basename "$f" .yaml)"
  "$helm" lint --strict "$chart" --values "$f" >"$out/$name.lint" || {
    cat "$out/$name.lint" >&2
    echo "helm-lint: lint failed with $f" >&2
    exit 1
  }
  "$helm" template ndra "$chart" --namespace network-dra --values "$f" >"$out/$name.yaml"
  echo "helm-lint: rendered $(basename "$f") ($(grep -c '^kind:' "$out/$name.yaml") objects)"
done
echo "helm-lint: ok"
