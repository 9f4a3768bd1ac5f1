#!/usr/bin/env bash
# logs.sh — prints the tail of every component log of the local cluster (tests call it on failure).
#   scripts/cluster/logs.sh [lines] [--control-plane]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
lines=60 mode=full
for a in "$@"; do
  case "$a" in
    --control-plane) mode=control-plane ;;
    *) lines="$a" ;;
  esac
done
ndra_setup_mode "$mode"
ndra_print_logs "$lines"
