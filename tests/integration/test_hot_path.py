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
        "mfa_process.keystore.keyringlib",
        "mfa_process.keystore.secretservice",
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


def test_a_hit_that_falls_back_to_keyring_is_caught(tmp_path):
    """The guard guarded: with the fast read broken (made to decline, as a bug in it would), the hit still
    serves the cached session through ``keyring``, silently, and the allow-list is what notices."""
    home = hot_home(tmp_path / "home")
    stored = seed(home)
    result = hit(home, tmp_path / "modules", break_fast_read=True)
    assert result.doc["AccessKeyId"] == stored["access_key_id"]
    assert "keyring" in result.imported
    assert result.imported != result.expect(ALLOWED["secret-service"])
