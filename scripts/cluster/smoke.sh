#!/usr/bin/env bash
# smoke.sh — proves the local cluster (scripts/cluster/up.sh) can run a pod: starts a pod from
# localhost/network-dra-test:v1 on the default network, execs into it (`ip addr`), checks from
# inside the pod that kube-apiserver answers on the kubernetes Service 10.0.0.1:443 (kube-proxy DNAT)
# and that the pod has no default route (nothing outside the machine is routable), then deletes it.
# Exit status 0 only if every check passed. Prints timings.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ndra_setup_mode full
name="smoke-$RANDOM$RANDOM"
fail() {
  log "SMOKE FAILED: $*"
  ndra_kubectl describe pod "$name" >&2 || true
  exit 1
}
trap 'ndra_kubectl delete pod "$name" --grace-period=0 --wait=false >/dev/null 2>&1 || true' EXIT
t0=$SECONDS
ndra_kubectl apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: localhost/network-dra-test:v1
    imagePullPolicy: Never
    command: ["/bin/sleep", "3600"]
EOF2
ndra_kubectl wait --for=condition=Ready "pod/$name" --timeout=120s >/dev/null || fail "pod not Ready"
log "pod Ready after $((SECONDS - t0))s"
addr="$(ndra_kubectl exec "$name" -- ip addr)" || fail "kubectl exec failed"
echo "$addr"
grep -q 'inet 10\.22\.0\.' <<<"$addr" || fail "pod has no address from the pod network"
# busybox-static's wget crashes on TLS; a plain HTTP request to the HTTPS port gets the
# apiserver's own "HTTP request to an HTTPS server" answer, through the service VIP.
api="$(ndra_kubectl exec "$name" -- sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 5 10.0.0.1 443')" ||
  fail "pod could not reach 10.0.0.1:443"
grep -q 'HTTPS server' <<<"$api" || fail "unexpected reply from 10.0.0.1:443: $api"
log "pod reached kube-apiserver through the service VIP 10.0.0.1:443"
routes="$(ndra_kubectl exec "$name" -- ip route)"
if grep -q '^default' <<<"$routes"; then fail "pod has a default route: $routes"; fi
log "pod has no default route (nothing leaves the machine)"
log "smoke test passed in $((SECONDS - t0))s"
