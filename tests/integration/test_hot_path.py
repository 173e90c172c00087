"""The hot path's promise, checked on a real cache hit: exactly these modules, and the fast read taken.

A cache hit runs before every AWS CLI command, so what it imports is its speed (docs/performance.md). Each
backend has an exact allow-list of the modules a hit may import beyond the interpreter's own start-up:
an added import, a heavy one (keyring, boto3, typing, re, pathlib...) or a fast path that silently falls
back to the ``keyring`` library makes these tests fail.
"""

from __future__ import annotations

import pytest

from tests.support.hit import hit, hot_home, seed

pytestmark = pytest.mark.keyring

#: The package's modules on a hit, whatever the backend.
CORE = {
    "mfa_process",
    "mfa_process.app",
    "mfa_process.cache",
    "mfa_process.cli",
    "mfa_process.commands",
    "mfa_process.commands.credential",
    "mfa_process.config",
    "mfa_process.credentials",
    "mfa_process.errors",
    "mfa_process.keystore",
    "mfa_process.keystore.choose",
    "mfa_process.keystore.parts",
    "mfa_process.lock",
    "mfa_process.options",
    "mfa_process.paths",
    "mfa_process.records",
    "mfa_process.redact",
    "mfa_process.refresh",
}

#: Per backend: every module a hit imports beyond ``python -c pass``, and nothing else. ``__future__``
#: is the one standard module every hit pays (``from __future__ import annotations`` imports it).
ALLOWED = {
    # Secret Service, read over the project's D-Bus client: ``_socket`` (not ``socket``, which imports
    # ``selectors``, ``enum`` and ``re``) for the unix socket, ``errno`` for its error codes.
    "secret-service": CORE
    | {
        "__future__",
        "_socket",
        "errno",
        "mfa_process.dbus",
        "mfa_process.keystore.secretservice",
    },
    # The kernel keyring, without a session bus: ``ctypes`` for the two system calls, ``binascii`` for
    # the namespace checksum.
    "kernel": CORE
    | {
        "__future__",
        "_ctypes",
        "_struct",
        "binascii",
        "ctypes",
        "ctypes._endian",
        "struct",
        "mfa_process.keystore.kernel",
    },
}

#: Never on a hit, whatever the backend (a readable failure message for the usual suspects).
FORBIDDEN = (
    "keyring",
    "secretstorage",
    "jeepney",
    "boto3",
    "botocore",
    "filelock",
    "argparse",
    "subprocess",
    "typing",
    "socket",
    "pathlib",
    "configparser",
    "datetime",
    "json",
    "re",
    "collections",
    "contextlib",
    "dataclasses",
    "inspect",
    "threading",
)


def test_a_secret_service_hit_imports_exactly_its_allow_list(tmp_path):
    home = hot_home(tmp_path / "home")
    stored = seed(home)
    result = hit(home, tmp_path / "modules")
    assert result.doc["AccessKeyId"] == stored["access_key_id"]
    assert result.doc["SessionToken"] == stored["session_token"]
    assert sorted(m for m in result.imported if m.split(".")[0] in FORBIDDEN) == []
    assert result.imported == result.expect(ALLOWED["secret-service"])


def test_a_kernel_keyring_hit_imports_exactly_its_allow_list(tmp_path):
    from mfa_process.paths import state_dir
    from tests.support.kernelkeys import purge

    home = hot_home(tmp_path / "home")
    del home.env["DBUS_SESSION_BUS_ADDRESS"]  # headless: --cache auto takes the kernel keyring
    try:
        stored = seed(home)
        result = hit(home, tmp_path / "modules")
    finally:
        purge(state_dir(home.env))
    assert result.doc["AccessKeyId"] == stored["access_key_id"]
    assert sorted(m for m in result.imported if m.split(".")[0] in FORBIDDEN) == []
    assert result.imported == result.expect(ALLOWED["kernel"])


def test_a_hit_that_falls_back_to_keyring_is_caught(tmp_path):
    """The guard guarded: with the fast read broken (made to decline, as a bug in it would), a
    ``--cache secret-service`` hit still serves the cached session through ``keyring``, silently, and the
    allow-list is what notices. (With ``--cache auto`` a declining Secret Service is passed over for the
    kernel keyring, and the hit becomes a miss.)"""
    home = hot_home(tmp_path / "home")
    stored = seed(home)
    result = hit(home, tmp_path / "modules", "--cache", "secret-service", break_fast_read=True)
    assert result.doc["AccessKeyId"] == stored["access_key_id"]
    assert "keyring" in result.imported
    assert result.imported != result.expect(ALLOWED["secret-service"])
