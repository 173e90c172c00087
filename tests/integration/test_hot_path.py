"""The hot path's promise, checked on a real cache hit: exactly these modules, and the fast read taken.

A cache hit runs before every AWS CLI command, so what it imports is its speed (docs/performance.md). Each
backend has an exact allow-list of the modules a hit may import beyond the interpreter's own start-up:
an added import, a heavy one (keyring, boto3, typing, re, pathlib...) or a fast path that silently falls
back to the ``keyring`` library makes these tests fail.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.hit import hit, hot_home, seed

pytestmark = pytest.mark.keyring

#: The package's modules on a hit, whatever the backend: the settings, the cache and its backend. The refresh
#: flow (``refresh``, ``app``, ``lock``) is imported only on a miss.
CORE = {
    "mfa_process",
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
    "mfa_process.options",
    "mfa_process.paths",
    "mfa_process.records",
    "mfa_process.redact",
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
    # The kernel keyring, without a session bus: ``_ctypes`` (the C core of ``ctypes``, without the ~2 ms of
    # its ``__init__``) for the two system calls; the namespace checksum is computed without ``binascii``.
    "kernel": CORE
    | {
        "__future__",
        "_ctypes",
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
    "ctypes",
    "binascii",
    "struct",
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


#: A ``sitecustomize`` that notices the interpreter's teardown: an object whose finaliser writes a mark when
#: the modules are torn down (no ``atexit`` handler, which would itself keep the process from leaving early),
#: and, when asked, an ``atexit`` handler that writes another.
WATCH = """
import atexit, os

class _Teardown:
    def __init__(self):  # what __del__ uses is held here: module globals are gone by the time it runs
        self.path = os.environ["WATCH_DIR"] + "/teardown"
        self.open, self.close, self.flags = os.open, os.close, os.O_WRONLY | os.O_CREAT

    def __del__(self):
        self.close(self.open(self.path, self.flags, 0o600))

_watch = _Teardown()
if os.environ.get("WATCH_ATEXIT"):
    atexit.register(lambda: open(os.environ["WATCH_DIR"] + "/atexit", "w").write("ran"))
"""


def _watched(tmp_path, home, args, *, atexit_handler=False):
    site = tmp_path / "site"
    site.mkdir(parents=True)
    (site / "sitecustomize.py").write_text(WATCH, encoding="utf-8")
    marks = tmp_path / "marks"
    marks.mkdir(parents=True)
    env = {"PYTHONPATH": str(site), "WATCH_DIR": str(marks), **({"WATCH_ATEXIT": "1"} if atexit_handler else {})}
    result = home.run(args, env=env)
    return result, {mark.name for mark in marks.iterdir()}


def test_a_hit_as_the_program_leaves_without_the_interpreters_teardown(tmp_path):
    """The console script ends a hit with its line out and the teardown skipped (about 2 ms of every hit);
    the same hit through ``main([...])``, as an embedding caller runs it, ends normally."""
    home = hot_home(tmp_path / "home")
    stored = seed(home)
    script = str(Path(sys.executable).parent / "mfa-process")
    result, marks = _watched(tmp_path / "program", home, [script, "--profile", "hot"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("}\n") and stored["session_token"] in result.stdout
    assert marks == set()
    call = "from mfa_process.cli import main; raise SystemExit(main(['--profile', 'hot']))"
    result, marks = _watched(tmp_path / "embedded", home, [sys.executable, "-c", call])
    assert result.returncode == 0, result.stderr
    assert marks == {"teardown"}


def test_a_hit_with_an_exit_handler_registered_ends_normally_and_runs_it(tmp_path):
    """A coverage tool or a ``sitecustomize`` may register an ``atexit`` handler: the hit then ends
    normally, and the handler runs."""
    home = hot_home(tmp_path / "home")
    seed(home)
    script = str(Path(sys.executable).parent / "mfa-process")
    result, marks = _watched(tmp_path / "program", home, [script, "--profile", "hot"], atexit_handler=True)
    assert result.returncode == 0, result.stderr
    assert marks == {"atexit", "teardown"}
