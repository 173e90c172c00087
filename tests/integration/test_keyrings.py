"""Keyring fit: no backend, a plain-text backend, a size-limited backend, each through the real helper."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pexpect
import pytest

from tests.support.clients import run_detached
from tests.support.home import VENV_BIN, AwsHome

pytestmark = pytest.mark.keyring

MFA = str(VENV_BIN / "mfa-process")
BACKENDS = Path(__file__).resolve().parent.parent / "support" / "backends"
ALT = Path(VENV_BIN).parent / "extras" / "keyrings-alt"


def no_tty(home: AwsHome, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run with no controlling terminal (see :func:`tests.support.clients.run_detached`)."""
    return run_detached(home, args, env=env, timeout=60)


def login(home: AwsHome, sts_proxy, *extra: str, **env: str) -> str:
    child = pexpect.spawn(MFA, [*extra, "--profile", "source"], env={**home.env, **env}, encoding="utf-8", timeout=60)
    child.logfile_read = io.StringIO()
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()
    return child.logfile_read.getvalue()


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"])
def test_no_backend_names_the_fixes_before_any_prompt(sts_proxy, aws_home, backend):
    result = no_tty(aws_home, [MFA, "--profile", "source"], PYTHON_KEYRING_BACKEND=backend)
    assert result.returncode == 5
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    for fix in ("dbus-run-session", "gnome-keyring-daemon --unlock", "keyrings.cryptfile", "PYTHON_KEYRING_BACKEND"):
        assert fix in line
    assert sts_proxy.get_session_token_calls == 0


def test_plain_text_backend_is_refused_unless_allowed(sts_proxy, aws_home, tmp_path):
    assert (ALT / "keyrings" / "alt").is_dir(), "scripts/deps.sh installs keyrings.alt into .venv/extras"
    env = {
        "PYTHONPATH": str(ALT),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    refused = no_tty(aws_home, [MFA, "--profile", "source"], **env)
    assert refused.returncode == 5
    assert "keyrings.alt.file.PlaintextKeyring" in refused.stderr and "--allow-insecure-keyring" in refused.stderr
    assert sts_proxy.get_session_token_calls == 0
    login(aws_home, sts_proxy, "--allow-insecure-keyring", **env)
    served = no_tty(aws_home, [MFA, "--profile", "source", "--allow-insecure-keyring"], **env)
    assert served.returncode == 0, served.stderr
    assert sts_proxy.get_session_token_calls == 1


def test_four_kilobyte_token_round_trips_through_a_size_limited_backend(sts_proxy, aws_home):
    sts_proxy.session_token_length = 4096
    env = {"PYTHONPATH": str(BACKENDS), "PYTHON_KEYRING_BACKEND": "limited_keyring.LimitedSecretService"}
    login(aws_home, sts_proxy, **env)
    issued = sts_proxy.issued[-1]
    assert len(issued.session_token) == 4096
    served = no_tty(aws_home, [MFA, "--profile", "source"], **env)
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout)["SessionToken"] == issued.session_token
    assert sts_proxy.get_session_token_calls == 1

    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        items = list(collection.search_items({"service": "mfa-process"}))
        sizes = [len(item.get_secret().decode()) for item in items]
    finally:
        connection.close()
    assert len(items) >= 5  # the head and at least four parts
    assert max(sizes) <= 1280


def test_locked_keyring_is_one_line_without_hanging(sts_proxy, aws_home):
    import secrets
    import time
    import uuid

    from tests.support.gnome_keyring import GnomeKeyring

    gnome = GnomeKeyring()
    password = secrets.token_hex(8).encode()
    path = gnome.create_collection(f"mfa-process-locked-{uuid.uuid4().hex[:8]}", password)
    env = {"KEYRING_PROPERTY_PREFERRED_COLLECTION": path}
    try:
        login(aws_home, sts_proxy, **env)
        assert no_tty(aws_home, [MFA, "--profile", "source"], **env).returncode == 0
        gnome.lock(path)
        started = time.monotonic()
        result = no_tty(aws_home, [MFA, "--profile", "source"], **env)
        elapsed = time.monotonic() - started
        assert result.returncode == 5
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert "keyring is locked" in line and "unlock" in line
        assert elapsed < 300  # a hang guard; "locked" above (not a timeout's message) shows it did not wait
        assert sts_proxy.get_session_token_calls == 1
    finally:
        if gnome.is_locked(path):
            gnome.unlock(path, password)
        gnome.delete(path)
        gnome.close()
