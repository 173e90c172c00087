#!/usr/bin/env bash
# Benchmark mfa-process against the interpreter's start-up, keyring, secret-tool, boto3 and the Python peer
# aws-credential-process, and print the table (docs/performance.md explains it).
#
#   bash benchmarks/run.sh [--runs N]     # N cache-hit runs per command (default 30, or BENCH_RUNS)
#
# First run: installs Debian packages and three venvs (benchmarks/setup.sh, a few minutes). Then each run
# reinstalls mfa-process from the tree as it is and measures for about three minutes. Needs no terminal:
# the measurements run in a session of their own, inside a private D-Bus session with a throwaway
# gnome-keyring (scripts/keyring-session.sh). Results: benchmarks/results/ (latest.md, latest.json).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

bash "$here/setup.sh"

# setsid: no controlling terminal, so no measured program can ever stop to prompt on one. The job is a
# process group of its own; an interrupt of this script ends that whole group.
setsid bash "$root/scripts/keyring-session.sh" "$here/.tools-venv/bin/python" "$here/bench.py" "$@" </dev/null &
job=$!
trap 'kill -TERM -- "-$job" 2>/dev/null || true' INT TERM HUP
status=0
wait "$job" || status=$?
# A trapped signal interrupts wait; collect the job once it has gone.
if kill -0 "$job" 2>/dev/null; then wait "$job" || status=$?; fi
exit "$status"
