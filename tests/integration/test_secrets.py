"""Secrets stay secret and state files stay private, end to end.

Secrets: the ``mfa`` fixture (``tests/support/reliability.py``) scans every stderr, every terminal
screen, the stdout of every command that prints no credentials and every file under HOME (except
``~/.aws/credentials``) for the long-term secret key and every secret key and session token STS issued;
the tests here drive the commands and failures most likely to leak, including traceback mode.

Files: lock, index and other state files are 0600 in 0700 directories whatever the umask, and a
symlink or another user's directory where state belongs is refused with one line, never followed.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pexpect
import pytest

from tests.support.reliability import PROMPT, Helper, Result, is_root, lock_file, session_key

pytestmark = pytest.mark.keyring

ROLE = "arn:aws:iam::123456789012:role/admin"
EXIT_STS, EXIT_LOCK, EXIT_UNEXPECTED = 6, 7, 70
DEBUG = {"MFA_PROCESS_DEBUG": "1"}


def login(mfa: Helper) -> Result:
    session = mfa.spawn("login", "--profile", "source")
    session.answer()
    result = session.finish()
    assert result.code == 0, result
    return result


def assert_clean(mfa: Helper) -> None:
    """Nothing the helper showed or wrote so far holds a secret (the fixture checks again at the end)."""
    hits, texts, _ = mfa.scan()
    mfa.reported.update(hits)
    assert texts > 0
    assert hits == [], "secret leaked"


# -- secrets ----------------------------------------------------------------------------------------


def test_no_secret_in_anything_a_day_of_use_shows(mfa):
    login(mfa)
    hit = mfa.run("--profile", "source")
    assert hit.code == 0 and hit.stderr == ""
    for args in (["status"], ["status", "--json"], ["policy"], ["store-keys", "--profile", "source"]):
        result = mfa.run(*args)
        assert result.code == 0, result
    role = mfa.run("--profile", "source", "--role-arn", ROLE)
    assert role.code == 0, role
    assert mfa.run("--profile", "source", "--duration-seconds", "abc").code == 2
    setup = mfa.spawn("setup", "source", "--yes", "--region", "us-east-1")
    setup.answer()
    assert setup.finish().code == 0
    for args in (["logout", "--profile", "source"], ["logout", "--all"]):
        result = mfa.run(*args)
        assert result.code == 0, result
    assert len(mfa.proxy.issued) >= 3  # two sessions and a role: all of them searched for
    assert_clean(mfa)


def test_sts_error_echoing_the_long_term_secret_is_masked(mfa):
    secret = mfa.proxy.secret_access_key
    mfa.proxy.fail_next_with(400, "InvalidParameterValue", f"request signed with {secret} was refused")
    session = mfa.spawn("--profile", "source", env=DEBUG)
    session.answer()
    result = session.finish()
    assert result.code == EXIT_STS
    assert (
        result.stderr
        == "mfa-process: GetSessionToken failed: InvalidParameterValue: request signed with **** was refused\n"
    )
    assert_clean(mfa)


def test_sts_error_echoing_a_keyring_stored_secret_is_masked(mfa):
    """Keys moved to the keyring (store-keys --remove-from-file) are masked as the file's are."""
    moved = mfa.run("store-keys", "--profile", "source", "--remove-from-file")
    assert moved.code == 0, moved
    backups = [p for p in mfa.home.aws_dir.iterdir() if p.name.startswith("credentials") and p.name != "credentials"]
    assert len(backups) == 1 and str(backups[0]) in moved.stdout  # the user is told about the one copy left
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    mfa.allow(backups[0])
    assert mfa.proxy.secret_access_key not in mfa.home.credentials_path.read_text()
    mfa.proxy.fail_next_with(400, "InvalidParameterValue", f"request signed with {mfa.proxy.secret_access_key}")
    session = mfa.spawn("--profile", "source", env=DEBUG)
    session.answer()
    result = session.finish()
    assert result.code == EXIT_STS
    assert result.stderr.endswith("request signed with ****\n"), result.stderr
    assert_clean(mfa)


def test_role_error_echoing_the_cached_session_is_masked(mfa):
    login(mfa)
    session = mfa.proxy.issued[-1]
    message = f"token {session.session_token} signed with {session.secret_access_key} is not allowed"
    mfa.proxy.fail_next_with(403, "AccessDenied", message, action="AssumeRole")
    result = mfa.run("--profile", "source", "--role-arn", ROLE, env=DEBUG)
    assert result.code == EXIT_STS
    assert result.lines and result.lines[-1].startswith(f"mfa-process: AssumeRole {ROLE} failed: AccessDenied")
    assert_clean(mfa)


#: A bug planted in the helper (through ``sitecustomize``): formatting the credentials fails with an error
#: whose message holds the session's secret key and token, with every secret loaded in the process.
PLANTED_BUG = """
import mfa_process.credentials as module

def broken(self):
    raise RuntimeError(f"cannot format {self.secret_access_key} / {self.session_token}")

module.Credentials.to_process_json = broken
"""


def test_traceback_mode_shows_no_secret(mfa, tmp_path):
    login(mfa)
    site = tmp_path / "planted"
    site.mkdir()
    (site / "sitecustomize.py").write_text(PLANTED_BUG, encoding="utf-8")
    result = mfa.run("--profile", "source", env={**DEBUG, "PYTHONPATH": str(site)})
    assert result.code == EXIT_UNEXPECTED, result
    assert "RuntimeError: cannot format" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert result.lines[-1].startswith("mfa-process: unexpected error (")
    assert_clean(mfa)


@pytest.mark.parametrize("backend", ["WriteFails", "ReadEchoes"])
def test_keyring_errors_holding_the_secret_are_not_shown(mfa, backend):
    """Backends whose exceptions hold the value they could not store or decode."""
    if backend == "ReadEchoes":
        login(mfa)  # an entry for the backend to fail to decode
    session = mfa.spawn("--profile", "source", env={**DEBUG, **mfa.keyring_env(backend)})
    session.answer()
    result = session.finish()
    assert result.code == 0, result
    assert "mfa-process: c" in result.screen  # "cannot read the cache" / "could not cache the credentials"
    assert "Traceback" not in result.screen + result.stderr
    assert_clean(mfa)


# -- files ------------------------------------------------------------------------------------------


def test_state_files_are_private_whatever_the_umask(mfa):
    # --cache keyring: the keyring library's choice is what writes the remembered-backend file
    session = mfa.spawn("login", "--profile", "source", "--cache", "keyring", umask=0)
    session.answer()
    assert session.finish().code == 0
    state = mfa.state
    dirs = [state, *(p for p in state.rglob("*") if p.is_dir())]
    files = [p for p in state.rglob("*") if not p.is_dir()]
    assert {p.name for p in dirs} == {"mfa-process", "locks"}
    assert {"index.json", "backend", "used-codes.json"} <= {p.name for p in files}
    assert lock_file(state, session_key(mfa.proxy)) in files
    assert len([p for p in files if p.suffix == ".lock"]) == 2  # the session's and the index's
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in dirs} == dict.fromkeys(
        ("mfa-process", "locks"), "0o700"
    )
    assert {p.name: oct(stat.S_IMODE(p.lstat().st_mode)) for p in files} == {p.name: "0o600" for p in files}
    assert all(p.lstat().st_uid == os.getuid() and stat.S_ISREG(p.lstat().st_mode) for p in files)


@pytest.mark.parametrize("target_exists", [True, False], ids=["to a file", "dangling"])
def test_symlink_at_the_lock_path_is_refused(mfa, tmp_path, target_exists):
    victim = tmp_path / "victim"
    if target_exists:
        victim.write_text("precious\n")
    path = lock_file(mfa.state, session_key(mfa.proxy))
    path.parent.mkdir(mode=0o700, parents=True)
    path.symlink_to(victim)
    result = mfa.run("--profile", "source")
    assert result.code == EXIT_LOCK, result
    assert result.stdout == "" and len(result.lines) == 1, result.stderr
    assert result.lines[0] == f"mfa-process: lock file {path} is a symlink; remove it (mfa-process never follows one)"
    assert (victim.read_text() if target_exists else victim.exists()) == ("precious\n" if target_exists else False)
    assert path.is_symlink()
    assert mfa.proxy.calls == []


def unsafe_state(kind: str, state: Path, elsewhere: Path) -> None:
    """Make *state* (the state directory) unsafe in the way *kind* says."""
    elsewhere.mkdir(mode=0o700)
    state.parent.mkdir(parents=True, exist_ok=True)
    if kind == "state dir is a symlink":
        state.symlink_to(elsewhere)
    elif kind == "locks dir is a symlink":
        state.mkdir(mode=0o700)
        (state / "locks").symlink_to(elsewhere)
    elif kind == "state dir is a file":
        state.write_text("")
    elif kind == "state dir belongs to another user":
        state.mkdir(mode=0o755)
        os.chown(state, 65534, 65534)
    elif kind == "locks dir belongs to another user":
        state.mkdir(mode=0o700)
        (state / "locks").mkdir(mode=0o755)
        os.chown(state / "locks", 65534, 65534)


UNSAFE = {
    "state dir is a symlink": "is a symlink or not a directory",
    "locks dir is a symlink": "is a symlink or not a directory",
    "state dir is a file": "",
    "state dir belongs to another user": "belongs to another user",
    "locks dir belongs to another user": "belongs to another user",
}


@pytest.mark.parametrize("kind", UNSAFE.keys())
def test_unsafe_state_dir_is_refused_before_any_prompt(mfa, tmp_path, kind):
    if "another user" in kind and not is_root():
        pytest.skip("needs root to give a directory to another user")
    elsewhere = tmp_path / "elsewhere"
    unsafe_state(kind, mfa.state, elsewhere)
    session = mfa.spawn("--profile", "source")
    if session.child.expect_exact([PROMPT, pexpect.EOF], timeout=20) == 0:
        session.kill()
        notice = session.screen.strip().splitlines()
        pytest.fail(f"not refused: asked for a code with the state directory unsafe ({kind}); screen: {notice}")
    result = session.finish(timeout=5)
    assert result.code == EXIT_LOCK, result
    assert result.stdout == "" and len(result.lines) == 1, result.stderr
    assert result.lines[0].startswith("mfa-process: ") and UNSAFE[kind] in result.lines[0]
    assert list(elsewhere.iterdir()) == []  # nothing written through the symlink
    assert mfa.proxy.calls == []


def test_symlinked_index_is_not_followed(mfa, tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text("precious\n")
    mfa.state.mkdir(mode=0o700, parents=True)
    (mfa.state / "index.json").symlink_to(victim)
    session = mfa.spawn("--profile", "source")
    session.answer()
    result = session.finish()
    assert result.code == 0 and json.loads(result.stdout)["Version"] == 1  # the user still gets credentials
    assert "could not update the cache index" in result.screen and "is a symlink" in result.screen
    assert victim.read_text() == "precious\n"
    assert (mfa.state / "index.json").is_symlink()


#: How a state directory or its ``backend`` file can be planted; what the refusal says.
PLANTED = {
    "state dir of another user": "belongs to another user; remove it or set MFA_PROCESS_STATE_DIR",
    "backend of another user": "backend belongs to another user; remove it",
    "backend writable by others": "backend can be written by other users, so mfa-process does not trust it",
    "backend a symlink": "backend is a symlink; remove it (mfa-process never follows one)",
    "backend a FIFO": "backend is not a regular file; remove it",
}


def plant(kind: str, state: Path, elsewhere: Path) -> None:
    """Make *state* hold a ``backend`` file selecting the null keyring, untrustworthy in the way *kind* says."""
    backend = state / "backend"
    backend.unlink(missing_ok=True)
    if kind == "backend a symlink":
        elsewhere.write_text("keyring.backends.null.Keyring\n")
        backend.symlink_to(elsewhere)
    elif kind == "backend a FIFO":
        os.mkfifo(backend, 0o600)
    else:
        backend.write_text("keyring.backends.null.Keyring\n")
    if kind == "backend writable by others":
        backend.chmod(0o666)
    elif kind == "backend of another user":
        os.chown(backend, 65534, 65534)
    elif kind == "state dir of another user":
        os.chown(backend, 65534, 65534)
        os.chown(state, 65534, 65534)


#: ``backend`` is read where the keyring library is the cache (``--cache auto`` on a Secret Service or the
#: kernel keyring never reads it): the commands run with ``--cache keyring``.
@pytest.mark.parametrize(
    "command",
    [["--profile", "source", "--cache", "keyring"], ["status", "--cache", "keyring"]],
    ids=["cache hit", "status"],
)
@pytest.mark.parametrize("kind", PLANTED.keys())
def test_planted_state_is_refused_on_a_hit_and_by_status(mfa, tmp_path, kind, command):
    if "another user" in kind and not is_root():
        pytest.skip("needs root to give a file to another user")
    session = mfa.spawn("--profile", "source")
    session.answer()
    assert session.finish().code == 0
    served = mfa.run("--profile", "source")
    assert served.code == 0, served  # a real cache hit first
    plant(kind, mfa.state, tmp_path / "elsewhere")
    calls = len(mfa.proxy.calls)
    result = mfa.run(*command)
    assert result.code == EXIT_LOCK, result
    assert result.stdout == "" and len(result.lines) == 1, result
    assert result.lines[0].startswith("mfa-process: ") and PLANTED[kind] in result.lines[0], result.lines
    assert len(mfa.proxy.calls) == calls
