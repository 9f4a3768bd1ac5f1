#!/usr/bin/env bash
# Lints the Helm chart strictly and renders it with its defaults and with every
# charts/network-dra/ci/*-values.yaml file. Fails on the first problem.
# HELM may point at a helm v3 binary; default: the project's cached helm.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$root/charts/network-dra"
helm="${HELM:-/var/cache/network-dra/helm/v3.19.0/bin/helm}"

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
