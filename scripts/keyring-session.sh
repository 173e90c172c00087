#!/usr/bin/env bash
# Run a command inside a private D-Bus session whose Secret Service is an unlocked gnome-keyring,
# so that python-keyring's SecretService backend works headless (no GUI prompt, no desktop).
#
#   scripts/keyring-session.sh COMMAND [ARG...]
#
# The keyring lives in a temporary directory that is removed afterwards; the user's own keyrings
# and desktop session are never touched. KEYRING_PASSWORD sets the password of the throwaway
# "login" keyring (default: "test").
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Step 1: a private session bus. The marker tells the re-executed script that it is inside it.
if [[ "${MFA_PROCESS_KEYRING_SESSION:-}" != "$$" ]]; then
    for tool in dbus-run-session gnome-keyring-daemon; do
        command -v "$tool" >/dev/null || { echo "$0: $tool not found (run scripts/deps.sh)" >&2; exit 127; }
    done
    # The bus activates no services: the Secret Service is the daemon started below and nothing else
    # (a stock daemon activated on demand would have no unlocked "login" keyring and would prompt).
    conf="$(mktemp "${TMPDIR:-/tmp}/keyring-session-bus.XXXXXX")"
    sed 's#<standard_session_servicedirs */>##' /usr/share/dbus-1/session.conf >"$conf"
    export MFA_PROCESS_KEYRING_BUS_CONF="$conf"
    # dbus-run-session execs bash, which keeps the PID: the marker matches only in that process.
    exec dbus-run-session --config-file="$conf" -- \
        bash -c 'export MFA_PROCESS_KEYRING_SESSION=$$; exec bash "$0" "$@"' "${BASH_SOURCE[0]}" "$@"
fi
unset MFA_PROCESS_KEYRING_SESSION
rm -f "${MFA_PROCESS_KEYRING_BUS_CONF:-}"
unset MFA_PROCESS_KEYRING_BUS_CONF

# Step 2: gnome-keyring's secrets component with a fresh "login" keyring. Given a password on
# stdin and no keyring on disk, `--unlock` creates "login", unlocked, and gnome-keyring makes it
# the "default" alias; keyring.set_password then needs no prompt. The daemon keeps its files under
# XDG_DATA_HOME, which is set for it alone so that the command's own environment is unchanged.
keyring_dir="$(mktemp -d "${TMPDIR:-/tmp}/keyring-session.XXXXXX")"
cleanup() {
    touch "$keyring_dir/stop"
    if [[ -n "${watcher_pid:-}" ]]; then
        pkill -TERM -P "$watcher_pid" 2>/dev/null || true
        wait "$watcher_pid" 2>/dev/null || true
    fi
    rm -rf "$keyring_dir"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -m 700 "$keyring_dir/data" "$keyring_dir/run"

# The daemon runs in the foreground under a watcher that is never a supervisor: a daemon that dies
# during the run is not started again (on a desktop its death would take the user's unlocked keyring
# with it, so a test must see it). The watcher records the death; the run then fails, below.
watch() {
    status=0
    printf '%s' "${KEYRING_PASSWORD:-test}" |
        XDG_DATA_HOME="$keyring_dir/data" XDG_RUNTIME_DIR="$keyring_dir/run" \
            gnome-keyring-daemon --foreground --unlock --components=secrets >"$keyring_dir/daemon.out" 2>&1 ||
        status=$?
    [[ -e "$keyring_dir/stop" ]] && return 0
    echo "$status" >"$keyring_dir/died"
    echo "$0: gnome-keyring-daemon exited with status $status during the run; it is not restarted" >&2
    tail -n 5 "$keyring_dir/daemon.out" >&2 || true
}
watch &
watcher_pid=$!

# Wait until it owns the Secret Service name.
bus_call() {
    timeout 5 dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        "org.freedesktop.DBus.$1" string:org.freedesktop.secrets 2>/dev/null
}
for _ in $(seq 100); do
    bus_call NameHasOwner | grep -q 'boolean true' && break
    sleep 0.1
done
# It prints VAR=value lines (e.g. GNOME_KEYRING_CONTROL); export whatever it gave.
while IFS='=' read -r name value; do
    [[ "$name" =~ ^[A-Z_][A-Z0-9_]*$ ]] && export "$name=$value"
done <"$keyring_dir/daemon.out"

# Step 3: prove that a secret can be written and read back without a prompt.
python="$root/.venv/bin/python"
[[ -x "$python" ]] || python=python3
if ! timeout 20 "$python" - <<'EOF'; then
import sys

try:
    import keyring
    from keyring.backends.SecretService import Keyring
except ImportError:
    sys.exit(0)  # keyring not installed yet: nothing to check

backend = Keyring()
backend.set_password("mfa-process-selftest", "probe", "ok")
value = backend.get_password("mfa-process-selftest", "probe")
backend.delete_password("mfa-process-selftest", "probe")
if value != "ok":
    sys.exit(f"keyring round trip returned {value!r}")
EOF
    echo "$0: the Secret Service is not usable (gnome-keyring did not unlock)" >&2
    exit 1
fi

# Not exec: the trap must remove the keyring once the command is done.
status=0
"$@" || status=$?
if [[ -e "$keyring_dir/died" ]]; then
    echo "$0: gnome-keyring-daemon deaths: 1 (exit status $(cat "$keyring_dir/died")); the run fails" >&2
    ((status != 0)) || status=1
else
    echo "$0: gnome-keyring-daemon deaths: 0" >&2
fi
exit "$status"
