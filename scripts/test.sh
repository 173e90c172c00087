#!/usr/bin/env bash
# Install what the tests need, then run the unit tests and the integration tests.
#
#   bash scripts/test.sh [PYTEST-ARGS...]
#
# The unit tests are fast and need no network. The integration tests run real clients (boto3,
# both AWS CLIs, the JavaScript SDK) against a local moto server behind an MFA-checking STS proxy,
# inside a private D-Bus session with an unlocked gnome-keyring. Extra arguments go to both runs.
# Each run is stopped after UNIT_TIMEOUT / INTEGRATION_TIMEOUT seconds (default 600 / 1800).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/deps.sh || exit $?

pytest_opts=(-q -p no:cacheprovider)
# --foreground keeps a terminal usable for the tests; SIGKILL follows 30 s after SIGTERM.
limit() { timeout --foreground -k 30 "$@"; }

echo "== unit tests"
limit "${UNIT_TIMEOUT:-600}" .venv/bin/pytest "${pytest_opts[@]}" tests/unit "$@"
unit=$?
# Exit code 5 means that no test was collected: allowed for the unit run (e.g. a -k filter that
# matches integration tests only), but not for the integration run, which must always run tests.
if ((unit == 5)); then
    unit=0
fi

echo "== integration tests"
bash scripts/keyring-session.sh timeout --foreground -k 30 "${INTEGRATION_TIMEOUT:-1800}" .venv/bin/pytest "${pytest_opts[@]}" tests/integration "$@"
integration=$?

if ((unit != 0 || integration != 0)); then
    echo "test.sh: FAILED (unit exit $unit, integration exit $integration)" >&2
    exit 1
fi
