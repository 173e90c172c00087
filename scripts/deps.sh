#!/usr/bin/env bash
# Install what the tests need on a Debian machine; safe and quick to run again.
#
#   - Debian packages: gnome-keyring, D-Bus tools, secret-tool, the AWS CLI v2 (/usr/bin/aws),
#     fish, tmux, hyperfine, zsh, libfaketime (tests move the clock), Go and the Go SDK v2 sources (a test
#     builds a small Go SDK client offline), Node.js (only those missing; needs root or sudo)
#   - .venv with `pip install -e '.[test]'` (awscli v1 lands in .venv/bin/aws)
#   - tests/js/node_modules from package-lock.json
#
# Environment: PYTHON picks the interpreter for a new .venv (default: python3.11, else python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf 'deps: %s\n' "$*" >&2; }
# Run a noisy step quietly; show its output only when it fails.
quiet() {
    local out status=0
    out="$(mktemp)"
    "$@" >"$out" 2>&1 || status=$?
    ((status == 0)) || { cat "$out" >&2; log "failed ($status): $*"; }
    rm -f "$out"
    return "$status"
}

# --- Debian packages -----------------------------------------------------------------------------
packages=(gnome-keyring dbus dbus-x11 libsecret-tools awscli fish tmux hyperfine zsh libfaketime faketime golang-go golang-github-aws-aws-sdk-go-v2-dev)
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]})); then
    sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || { log "need root to install: ${missing[*]}"; exit 1; }
        sudo=(sudo)
    fi
    # Another apt-get may be running: wait for its locks (up to 10 minutes) rather than fail.
    apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
    export DEBIAN_FRONTEND=noninteractive
    log "installing ${missing[*]}"
    for attempt in 1 2 3 4 5 6; do
        "${sudo[@]}" apt-get "${apt_opts[@]}" update -qq && break
        ((attempt < 6)) || { log "apt-get update failed"; exit 1; }
        log "apt-get update failed (lock held?), retrying in 10 s"
        sleep 10
    done
    quiet "${sudo[@]}" apt-get "${apt_opts[@]}" install -y "${missing[@]}"
fi

# --- Python virtualenv ---------------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
    python="${PYTHON:-}"
    if [[ -z "$python" ]]; then
        python="$(command -v python3.11 || command -v python3)"
    fi
    log "creating .venv with $("$python" --version 2>&1)"
    "$python" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.deps-stamp
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]] || ! .venv/bin/python -c 'import mfa_process' 2>/dev/null; then
    log "pip install -e '.[test]'"
    quiet .venv/bin/python -m pip install --disable-pip-version-check -e '.[test]'
    echo "$want" >"$stamp"
fi

# keyrings.alt stays out of the venv: with a second viable backend keyring picks its chainer, which is not
# what users of a desktop keyring get. The plain-text-backend tests add this directory to PYTHONPATH.
extras=.venv/extras/keyrings-alt
if [[ ! -d "$extras/keyrings/alt" ]]; then
    log "pip install --target $extras keyrings.alt"
    quiet .venv/bin/python -m pip install --disable-pip-version-check --no-deps --target "$extras" \
        'keyrings.alt>=5' 'jaraco.classes' 'jaraco.context' 'jaraco.functools' 'more-itertools'
fi

# --- Node packages for the JavaScript SDK tests --------------------------------------------------
js=tests/js
js_stamp="$js/node_modules/.deps-stamp"
js_want="$(sha256sum "$js/package.json" "$js/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$js_stamp" 2>/dev/null || true)" != "$js_want" ]]; then
    log "npm install in $js"
    if [[ -f "$js/package-lock.json" ]]; then
        quiet npm --prefix "$js" ci --no-audit --no-fund
    else
        quiet npm --prefix "$js" install --no-audit --no-fund
    fi
    echo "$js_want" >"$js_stamp"
fi
