#!/usr/bin/env bash
# Run a command N times, all at once or one after another; fail if any run fails.
#
#   benchmarks/burst.sh N parallel|sequential COMMAND [ARG...]
set -euo pipefail

n="$1"
mode="$2"
shift 2
if [[ "$mode" == sequential ]]; then
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null
    done
    exit 0
fi
pids=()
for ((i = 0; i < n; i++)); do
    "$@" >/dev/null &
    pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
exit "$status"
