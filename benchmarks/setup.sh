#!/usr/bin/env bash
# Install everything benchmarks/run.sh measures; safe and quick to run again.
#
#   benchmarks/.venv        mfa-process as a user gets it: a wheel built from a copy of this tree, NOT an
#                           editable install (its .pth finder adds ~7 ms to every interpreter start).
#                           Rebuilt on every run, so the numbers are those of the tree as it is now.
#   benchmarks/.peer-venv   the Python peer, PyPI's aws-credential-process 0.20.0 (see install_peer below).
#   benchmarks/.tools-venv  what drives the runs and is not measured itself: moto's server and awscli v1.
#
# Debian packages (installed when missing; needs root or sudo): hyperfine, gnome-keyring, dbus,
# libsecret-tools (secret-tool), keyutils (keyctl), and libpcsclite-dev + swig to build pyscard for the peer.
#
# Environment: PYTHON picks the interpreter for the venvs (default: python3.11, else python3). Every venv
# uses the same one, so interpreter start-up is the same floor everywhere.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
log() { printf 'bench-setup: %s\n' "$*" >&2; }
# Run a noisy step quietly; show its output only when it fails.
quiet() {
    local out status=0
    out="$(mktemp)"
    "$@" >"$out" 2>&1 || status=$?
    ((status == 0)) || { tail -n 40 "$out" >&2; log "failed ($status): $*"; }
    rm -f "$out"
    return "$status"
}

# --- Debian packages -----------------------------------------------------------------------------
packages=(hyperfine gnome-keyring dbus libsecret-tools keyutils libpcsclite-dev swig build-essential)
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
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
    log "installing ${missing[*]}"
    quiet "${sudo[@]}" apt-get "${apt_opts[@]}" update -qq
    quiet "${sudo[@]}" apt-get "${apt_opts[@]}" install -y "${missing[@]}"
fi

# --- the interpreter -----------------------------------------------------------------------------
# Resolved to the real executable: a pyenv shim or a venv's python would add its own start-up to the floor.
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
python="$("$python" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
py_version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"

# A venv is reused while its stamp matches this recipe and interpreter.
fresh() { [[ -x "$1/bin/python" && "$(cat "$1/.bench-stamp" 2>/dev/null || true)" == "$2" ]]; }
new_venv() {
    rm -rf "$1"
    quiet "$python" -m venv "$1"
    # A current pip, as pipx uses: its console-script launchers no longer import `re`.
    quiet "$1/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
}
# setuptools and wheel are only needed to install. setuptools' distutils-precedence.pth runs at every
# start of the venv's interpreter, and a venv made by pipx has none: removed once installed.
strip_venv() { quiet "$1/bin/python" -m pip uninstall -y -q setuptools wheel || true; }

# --- tools: moto's server and awscli v1 ----------------------------------------------------------
tools="$here/.tools-venv"
tools_stamp="tools-2 $py_version"
if ! fresh "$tools" "$tools_stamp"; then
    log "creating $tools (moto[server], awscli)"
    new_venv "$tools"
    quiet "$tools/bin/python" -m pip install --disable-pip-version-check -q 'moto[server]>=5.0' 'awscli>=1.29'
    echo "$tools_stamp" >"$tools/.bench-stamp"
fi

# --- the peer: aws-credential-process 0.20.0 ------------------------------------------------------
# It pins yubikey-manager (ykman) 5.0.0, which needs pyscard >=2,<3 and imports
# smartcard.pcsc.PCSCContext (at `import ykman._cli.__main__`, which the peer does on every call).
#  * PyPI has no Linux wheel of pyscard: it is built from its sdist (libpcsclite-dev, swig, a C compiler).
#  * pyscard 2.3 (what pip would pick) and 2.2.2 no longer ship smartcard.pcsc.PCSCContext: ykman 5.0.0
#    does not import with them. 2.2.1 is the newest release that has it.
#  * The older sdists fail to build with Debian 12's swig 4.1 (tried: 2.0.10, 2.1.1, 2.2.0, 2.2.2):
#    src/smartcard/scard/PcscTypemaps.i uses `$function`, which swig 4.1 dropped in favour of `$action`
#    (the same special variable under its newer name). The only change made: that one token.
# With pyscard 2.2.1 so patched, `pip install aws-credential-process==0.20.0` resolves its own pins
# (yubikey-manager 5.0.0, keyring <24, cryptography <41) and the peer runs unmodified.
peer="$here/.peer-venv"
peer_stamp="peer-2 aws-credential-process==0.20.0 pyscard==2.2.1+swig41 $py_version"
install_peer() {
    new_venv "$peer"
    quiet "$peer/bin/python" -m pip install --disable-pip-version-check -q setuptools wheel
    local src
    src="$(mktemp -d)"
    quiet "$peer/bin/python" -m pip download --disable-pip-version-check -q --no-deps --no-binary=:all: \
        --no-build-isolation -d "$src" pyscard==2.2.1
    tar -xzf "$src/pyscard-2.2.1.tar.gz" -C "$src"
    sed -i 's/\$function/$action/' "$src/pyscard-2.2.1/src/smartcard/scard/PcscTypemaps.i"
    quiet "$peer/bin/python" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation \
        "$src/pyscard-2.2.1"
    rm -rf "$src"
    quiet "$peer/bin/python" -m pip install --disable-pip-version-check -q aws-credential-process==0.20.0
    strip_venv "$peer"
    # The peer's own import line, as it runs it.
    quiet "$peer/bin/python" -c 'import ykman._cli.__main__, keyring, boto3, pynentry, toml'
}
if ! fresh "$peer" "$peer_stamp"; then
    log "creating $peer (aws-credential-process 0.20.0; builds pyscard 2.2.1, about a minute)"
    install_peer
    echo "$peer_stamp" >"$peer/.bench-stamp"
fi

# --- mfa-process, non-editable, from a copy of the tree -------------------------------------------
bench="$here/.venv"
bench_stamp="bench-2 $py_version"
if ! fresh "$bench" "$bench_stamp"; then
    log "creating $bench"
    new_venv "$bench"
    echo "$bench_stamp" >"$bench/.bench-stamp"
fi
# Copy the files git would see (tracked and untracked, less the ignored ones) so that building never
# writes into the work tree, then build a wheel and install it in place of the previous one.
build="$here/.build"
rm -rf "$build"
mkdir -p "$build/src" "$build/dist"
(cd "$root" && git ls-files -co --exclude-standard -z -- . ':!benchmarks' ':!tests' |
    while IFS= read -r -d '' f; do
        if [[ -f "$f" ]]; then printf '%s\0' "$f"; fi # a tracked file may be deleted in the tree
    done) | (cd "$root" && xargs -0 -r cp --parents -t "$build/src")
quiet "$tools/bin/python" -m pip wheel --disable-pip-version-check -q --no-deps -w "$build/dist" "$build/src"
wheel="$(ls "$build/dist"/mfa_process-*.whl)"
quiet "$bench/bin/python" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps "$wheel"
quiet "$bench/bin/python" -m pip install --disable-pip-version-check -q "$wheel"
strip_venv "$bench"
quiet "$bench/bin/python" -c 'import mfa_process.cli, jeepney, keyring, boto3'
log "$("$bench/bin/mfa-process" --version 2>/dev/null || echo mfa-process) installed from $(basename "$wheel")"
