"""Faults and load, end to end: the helper itself on a real pseudo-terminal, the real Secret Service, moto
behind the MFA-checking STS proxy.

Each fault ends one of two ways: the user gets credentials (and is told what could not be kept), or one
``mfa-process: ...`` line and the documented exit code, with nothing on stdout, no traceback, no cache
entry left half-written and the lock free for the next process. Every test also runs the secret scan of
the ``mfa`` fixture (``tests/support/reliability.py``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from tests.support import clock
from tests.support.reliability import (
    MFA,
    PROMPT,
    Helper,
    Result,
    assert_one_line,
    is_root,
    lock_file,
    lock_is_free,
    session_key,
    wait_until,
)

pytestmark = pytest.mark.keyring

SERVICE = "mfa-process"
#: mfa_process/sts.py READ_TIMEOUT: how long the helper waits for STS's answer.
STS_READ_TIMEOUT = 15
#: Exit codes (mfa_process/errors.py).
EXIT_PROMPT, EXIT_KEYRING, EXIT_STS, EXIT_LOCK, EXIT_CANCELLED = 4, 5, 6, 7, 130


# -- looking at what the helper left behind ---------------------------------------------------------


def keyring_raw(key: str) -> bytes | None:
    """The secret stored under *key* by keyring's SecretService backend, as bytes."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        for item in collection.search_items({"service": SERVICE, "username": key}):
            return bytes(item.get_secret())
        return None
    finally:
        connection.close()


def keyring_get(key: str) -> str | None:
    raw = keyring_raw(key)
    return None if raw is None else raw.decode("utf-8", "replace")


def keyring_set(key: str, value: str) -> None:
    from keyring.backends.SecretService import Keyring

    Keyring().set_password(SERVICE, key, value)


def keyring_set_bytes(key: str, value: bytes) -> None:
    """Store raw bytes (not UTF-8) as keyring's SecretService backend would store a password."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        attributes = {"service": SERVICE, "username": key, "application": "Python keyring library"}
        collection.create_item(f"Password for '{key}' on '{SERVICE}'", attributes, value, replace=True)
    finally:
        connection.close()


def index_entries(state: Path) -> dict[str, dict[str, str]]:
    """The cache index's entries ({} when there is no index)."""
    path = state / "index.json"
    if not path.exists():
        return {}
    entries: dict[str, dict[str, str]] = json.loads(path.read_text())["entries"]
    return entries


def assert_nothing_cached(mfa: Helper, state: Path | None = None) -> None:
    """No keyring entry and no index entry for the session."""
    key = session_key(mfa.proxy)
    assert keyring_get(key) is None
    assert key not in index_entries(state or mfa.state)


def assert_cached(mfa: Helper, doc: dict[str, object]) -> None:
    """The keyring entry holds exactly the credentials *doc* printed, and the index knows it."""
    key = session_key(mfa.proxy)
    raw = keyring_raw(key)
    try:
        stored = json.loads(raw or b"null")
    except ValueError:
        pytest.fail(f"the keyring still holds {raw!r}, not the new session")
    assert stored["k"] == doc["AccessKeyId"] and stored["s"] == doc["SecretAccessKey"]
    assert stored["t"] == doc["SessionToken"]
    assert index_entries(mfa.state)[key]["expiration"] == doc["Expiration"]


def credentials_of(result: Result, mfa: Helper) -> dict[str, object]:
    """The credential_process document of a successful run: the credentials STS issued last."""
    assert result.code == 0, result
    doc: dict[str, object] = json.loads(result.stdout)
    issued = mfa.proxy.issued[-1]
    assert doc["Version"] == 1
    assert (doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"]) == (
        issued.access_key_id,
        issued.secret_access_key,
        issued.session_token,
    )
    return doc


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_only_prefix(directory: Path) -> list[str]:
    """A command prefix under which *directory* is read-only (and the chmod that makes it so for others).

    File modes do not stop root, so as root the directory is bind-mounted read-only in a private mount
    namespace of the helper alone; otherwise it is made 0555 (restored at teardown by the caller).
    """
    if not is_root():
        directory.chmod(0o555)
        return []
    unshare = shutil.which("unshare")
    probe = [
        unshare or "unshare",
        "-m",
        "sh",
        "-c",
        'mount --bind -o ro "$0" "$0" && ! touch "$0/.probe"',
        str(directory),
    ]
    if unshare is None or subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode != 0:
        pytest.skip("running as root without mount namespaces: cannot make a directory read-only")
    return [unshare, "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(directory)]


# -- faults -----------------------------------------------------------------------------------------


def test_kill_9_while_prompting_leaves_nothing_stale(mfa):
    key = session_key(mfa.proxy)
    first = mfa.spawn("--profile", "source")
    first.wait_prompt()
    lock = lock_file(mfa.state, key)
    assert not lock_is_free(lock)  # held while the user is asked
    os.kill(first.child.pid, signal.SIGKILL)
    assert first.finish().code == 128 + signal.SIGKILL
    assert lock_is_free(lock)  # the kernel dropped it with the process
    assert_nothing_cached(mfa)
    assert first.result is not None and first.result.stdout == ""
    assert mfa.proxy.get_session_token_calls == 0

    # the kernel dropped the lock with the process: the next call asks instead of waiting out the 300 s
    second = mfa.spawn("--profile", "source")
    second.answer(timeout=120)  # a hang guard, far below the 300 s a stale lock would cost
    result = second.finish()
    doc = credentials_of(result, mfa)
    assert result.stderr == ""
    assert_cached(mfa, doc)
    assert mfa.proxy.get_session_token_calls == 1


def test_kill_9_while_waiting_for_sts_leaves_nothing_stale(mfa):
    mfa.proxy.hang_seconds = 60
    first = mfa.spawn("--profile", "source")
    first.answer()
    assert wait_until(lambda: any(c.action == "GetSessionToken" for c in mfa.proxy.calls), 10)
    os.kill(first.child.pid, signal.SIGKILL)
    assert first.finish().code == 128 + signal.SIGKILL
    assert lock_is_free(lock_file(mfa.state, session_key(mfa.proxy)))
    assert_nothing_cached(mfa)
    mfa.proxy.hang_seconds = 0
    # the next process is not blocked: no terminal here, so it says it would have to ask
    line = assert_one_line(mfa.run("--profile", "source"), EXIT_PROMPT, "no terminal")
    assert "mfa-process login --profile source" in line


def test_ctrl_c_at_the_prompt(mfa):
    session = mfa.spawn("--profile", "source")
    session.wait_prompt()
    session.child.send("12")
    session.child.sendintr()
    result = session.finish(timeout=10)
    assert_one_line(result, EXIT_CANCELLED, "cancelled")
    assert result.stderr == "mfa-process: MFA code prompt cancelled (Ctrl-C)\n"
    assert lock_is_free(lock_file(mfa.state, session_key(mfa.proxy)))
    assert_nothing_cached(mfa)
    assert mfa.proxy.get_session_token_calls == 0


def test_ctrl_c_while_waiting_for_another_prompt(mfa):
    """Two terminals: the second waits for the first's prompt; Ctrl-C there leaves the first undisturbed."""
    first = mfa.spawn("--profile", "source")
    first.wait_prompt()
    second = mfa.spawn("--profile", "source")
    second.expect_exact("waiting for another mfa-process asking for the MFA code")
    second.child.sendintr()
    cancelled = second.finish(timeout=10)
    assert cancelled.stderr == "mfa-process: cancelled\n"
    assert_one_line(cancelled, EXIT_CANCELLED, "cancelled")
    assert not lock_is_free(lock_file(mfa.state, session_key(mfa.proxy)))  # still the first's
    first.type(mfa.proxy.fresh_code())
    doc = credentials_of(first.finish(), mfa)
    assert_cached(mfa, doc)
    assert mfa.proxy.get_session_token_calls == 1


#: name: (HTTP status, error code, AWS's message, what the user's line says)
STS_REFUSALS = {
    "internal error": (500, "InternalFailure", "oops", "GetSessionToken failed: InternalFailure: oops"),
    "throttled": (400, "Throttling", "Rate exceeded", "GetSessionToken failed: Throttling: Rate exceeded"),
    "key deleted": (403, "InvalidClientTokenId", "invalid", "the access key id of profile 'source' is not valid"),
}


@pytest.mark.parametrize("refusal", STS_REFUSALS.values(), ids=STS_REFUSALS.keys())
def test_sts_refusal_is_one_line_and_the_code_is_sent_once(mfa, refusal):
    status, code, message, expected = refusal
    mfa.proxy.fail_next_with(status, code, message, times=5)
    session = mfa.spawn("--profile", "source")
    session.answer()
    result = session.finish()
    assert_one_line(result, EXIT_STS, expected)
    assert mfa.proxy.get_session_token_calls == 1  # never retried: a retry would present the code twice
    assert_nothing_cached(mfa)


def test_sts_unreachable_is_one_line_naming_the_endpoint(mfa):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    session = mfa.spawn("--profile", "source", env={"AWS_ENDPOINT_URL": endpoint})
    session.answer()
    result = session.finish(timeout=120)  # a hang guard; a refused connection fails at once
    assert_one_line(result, EXIT_STS, f"cannot reach {endpoint}", "GetSessionToken")
    assert_nothing_cached(mfa)
    assert lock_is_free(lock_file(mfa.state, session_key(mfa.proxy)))


def test_sts_that_never_answers_times_out(mfa, record_timing):
    mfa.proxy.hang_seconds = STS_READ_TIMEOUT + 30
    session = mfa.spawn("--profile", "source")
    session.answer()
    started = time.monotonic()
    result = session.finish(timeout=STS_READ_TIMEOUT + 300)  # a hang guard
    waited = time.monotonic() - started
    record_timing(f"STS hang: gave up after {waited:.1f} s (READ_TIMEOUT {STS_READ_TIMEOUT} s)")
    assert waited >= STS_READ_TIMEOUT - 1  # it waited for the read timeout (a busy machine only adds to it)
    assert_one_line(result, EXIT_STS, "timed out", mfa.proxy.url)
    assert mfa.proxy.get_session_token_calls == 1
    assert_nothing_cached(mfa)
    assert lock_is_free(lock_file(mfa.state, session_key(mfa.proxy)))


def test_keyring_read_fails_user_still_gets_credentials(mfa):
    session = mfa.spawn("--profile", "source", env=mfa.keyring_env("ReadFails"))
    session.answer()
    result = session.finish()
    credentials_of(result, mfa)
    notices = [line for line in result.screen.splitlines() if "cannot read the cache" in line]
    assert notices and "asking AWS instead" in notices[0], result.screen
    assert "failing_keyring.ReadFails" in notices[0] and "RuntimeError" in notices[0]
    assert result.stderr == ""
    assert mfa.proxy.get_session_token_calls == 1
    # writes work, so the new session is cached (for when reads work again), without a "could not cache"
    assert "could not cache" not in result.screen, result.screen
    assert keyring_get(session_key(mfa.proxy)) is not None


def test_keyring_write_fails_user_still_gets_credentials_and_is_told(mfa):
    session = mfa.spawn("--profile", "source", env=mfa.keyring_env("WriteFails"))
    session.answer()
    result = session.finish()
    credentials_of(result, mfa)
    assert "could not cache the credentials" in result.screen
    assert "you will be asked again next time" in result.screen
    assert "PasswordSetError" in result.screen
    assert_nothing_cached(mfa)
    # and indeed nothing was kept: the next run would have to ask
    assert_one_line(mfa.run("--profile", "source"), EXIT_PROMPT, "no terminal")


def test_locked_keyring_is_one_line_before_any_prompt(mfa):
    session = mfa.spawn("--profile", "source", env=mfa.keyring_env("Locked"))
    result = session.finish(timeout=20)
    assert PROMPT not in result.screen
    assert_one_line(result, EXIT_KEYRING, "keyring is locked", "unlock")
    assert mfa.proxy.get_session_token_calls == 0


CORRUPT_ENTRIES = {
    "not JSON": "this is not json {",
    "JSON but not an object": "[1, 2, 3]",
    "fields missing": '{"v":1}',
    "unknown format version": '{"v":2,"k":"ASIAFUTURE","s":"s","t":"t","e":4102444800}',
    "expiry of the wrong type": '{"v":1,"k":"ASIAWRONG","s":"s","t":"t","e":"2099-01-01T00:00:00Z"}',
    "expiry out of range": '{"v":1,"k":"ASIAHUGE","s":"s","t":"t","e":99999999999999999999}',
    "expired": '{"v":1,"k":"ASIAEXPIRED","s":"s","t":"t","e":1000000000}',
    "head of missing parts": "parts:deadbeef:3:0123456789abcdef",
    "not UTF-8": b"\xff\xfe{\x00\x80",
}


@pytest.mark.parametrize("value", CORRUPT_ENTRIES.values(), ids=CORRUPT_ENTRIES.keys())
def test_corrupt_cache_entry_is_a_miss_then_fixed(mfa, value):
    key = session_key(mfa.proxy)
    if isinstance(value, bytes):
        keyring_set_bytes(key, value)
    else:
        keyring_set(key, value)
    session = mfa.spawn("--profile", "source")
    session.answer()  # a miss: asked for a code
    result = session.finish()
    doc = credentials_of(result, mfa)
    assert result.stderr == ""
    assert "Traceback" not in result.screen
    assert_cached(mfa, doc)  # the garbage was replaced
    again = mfa.run("--profile", "source")
    assert again.code == 0 and json.loads(again.stdout) == doc and again.stderr == ""
    assert mfa.proxy.get_session_token_calls == 1


def test_unreadable_entry_is_removed_by_logout(mfa):
    login = mfa.spawn("login", "--profile", "source")
    login.answer()
    assert login.finish().code == 0
    keyring_set_bytes(session_key(mfa.proxy), b"\xff\xfe{\x00\x80")  # the entry rots (another tool, a bad sync)
    out = mfa.run("logout", "--profile", "source")
    assert (out.code, out.stdout, out.stderr) == (0, "removed 1 cached entry for profile source\n", "")
    assert keyring_raw(session_key(mfa.proxy)) is None
    assert_nothing_cached(mfa)


def test_expiration_is_sts_own_value(mfa):
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3, minutes=7, seconds=11)).replace(microsecond=0)
    text = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    mfa.proxy.expiration = expires
    session = mfa.spawn("--profile", "source", "--duration-seconds", "43200")
    session.answer()
    doc = credentials_of(session.finish(), mfa)
    assert doc["Expiration"] == text == mfa.proxy.issued[-1].expiration  # not now + 43200
    stored = json.loads(keyring_get(session_key(mfa.proxy)) or "null")
    assert stored["e"] == int(expires.timestamp())
    assert index_entries(mfa.state)[session_key(mfa.proxy)]["expiration"] == text
    status = json.loads(mfa.run("status", "--json").stdout)
    assert [e["expiration"] for e in status["entries"]] == [text]


def test_freshness_is_measured_against_sts_expiration(mfa):
    """A session STS says ends 903 s from now is served while more than the 900 s margin is left, then
    refreshed. The helper runs at frozen instants just either side of the boundary (no waiting)."""
    mfa.proxy.expiration = dt.timedelta(seconds=903)
    session = mfa.spawn("--profile", "source")
    session.answer()
    doc = credentials_of(session.finish(), mfa)
    expires = dt.datetime.fromisoformat(str(doc["Expiration"]).replace("Z", "+00:00"))
    hit = mfa.run("--profile", "source", env=clock.frozen(expires - dt.timedelta(seconds=902)))
    assert hit.code == 0 and json.loads(hit.stdout) == doc
    # once less than the margin is left, the entry is no longer served: it would ask again
    late = mfa.run("--profile", "source", env=clock.frozen(expires - dt.timedelta(seconds=899)))
    assert_one_line(late, EXIT_PROMPT, "no terminal")
    assert mfa.proxy.get_session_token_calls == 1


def test_unwritable_state_dir_is_one_line_before_any_prompt(mfa, tmp_path):
    parent = tmp_path / "read-only"
    parent.mkdir()
    state = parent / "state"
    prefix = read_only_prefix(parent)
    try:
        session = mfa.spawn("--profile", "source", env={"MFA_PROCESS_STATE_DIR": str(state)}, prefix=prefix)
        result = session.finish(timeout=20)
    finally:
        parent.chmod(0o755)
    assert PROMPT not in result.screen  # no code asked for that could not be used
    assert_one_line(result, EXIT_LOCK, str(state), "MFA_PROCESS_STATE_DIR")
    assert mfa.proxy.get_session_token_calls == 0


def test_read_only_state_dir_cache_hit_still_served_refresh_refused(mfa, tmp_path):
    state = tmp_path / "state"
    env = {"MFA_PROCESS_STATE_DIR": str(state)}
    mfa.also_scan(state)
    login = mfa.spawn("login", "--profile", "source", env=env)
    login.answer()
    assert login.finish().code == 0
    prefix = read_only_prefix(state)
    try:
        hit = mfa.run("--profile", "source", env=env, prefix=prefix)
        forced = mfa.spawn("login", "--profile", "source", env=env, prefix=prefix)
        refused = forced.finish(timeout=20)
    finally:
        state.chmod(0o700)
    # a cache hit needs no lock and writes nothing: a read-only state directory does not matter
    assert hit.code == 0 and hit.stderr == "", hit
    assert json.loads(hit.stdout)["SessionToken"] == mfa.proxy.issued[-1].session_token
    # a refresh needs the lock: one line saying where and what to do, before any code is asked for
    assert PROMPT not in refused.screen
    assert_one_line(refused, EXIT_LOCK, "MFA_PROCESS_STATE_DIR")
    assert mfa.proxy.get_session_token_calls == 1


def test_full_disk_still_serves_credentials_and_says_the_index_failed(mfa, tmp_path):
    if not is_root() or shutil.which("unshare") is None:
        pytest.skip("needs root and mount namespaces to mount a small tmpfs")
    mount = tmp_path / "small"
    mount.mkdir()
    fill = (  # a 64 KiB tmpfs holding an existing state directory, then filled up
        'mount -t tmpfs -o size=64k tmpfs "$0" && mkdir -p "$0/state/locks" && '
        '(cat /dev/zero > "$0/fill" 2>/dev/null; exec "$@")'
    )
    prefix = ["unshare", "-m", "sh", "-c", fill, str(mount)]
    session = mfa.spawn("--profile", "source", env={"MFA_PROCESS_STATE_DIR": str(mount / "state")}, prefix=prefix)
    session.answer()
    result = session.finish()
    credentials_of(result, mfa)
    assert "could not update the cache index" in result.screen, result.screen
    assert "No space left on device" in result.screen
    assert result.stderr == ""
    assert keyring_get(session_key(mfa.proxy)) is not None  # the session itself was cached


# -- load -------------------------------------------------------------------------------------------

PROCESSES = 50


def run_round(mfa: Helper, outdir: Path) -> tuple[list[Result], float]:
    """PROCESSES helpers at once with no terminal; their results and the round's wall time."""
    outdir.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        for i in range(PROCESSES):
            with (outdir / f"out.{i}").open("wb") as out, (outdir / f"err.{i}").open("wb") as err:
                procs.append(
                    subprocess.Popen(
                        [MFA, "--profile", "source"],
                        env=mfa.home.env,
                        cwd=mfa.home.home,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=err,
                        start_new_session=True,
                    )
                )
        codes = [proc.wait(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    elapsed = time.monotonic() - started
    results = [
        Result(code, (outdir / f"out.{i}").read_text(), (outdir / f"err.{i}").read_text())
        for i, code in enumerate(codes)
    ]
    for result in results:
        mfa.record("load round", ["--profile", "source"], result)
    return results, elapsed


def cold_round(mfa: Helper, outdir: Path) -> tuple[list[Result], float, float]:
    """PROCESSES helpers at once on one terminal with nothing cached: results, time to the prompt, total."""
    outdir.mkdir()
    one = '"$0" --profile source > "$1/out.$i" 2> "$1/err.$i"; echo $? > "$1/rc.$i"'
    script = f"for i in $(seq {PROCESSES}); do ({one}) & done; wait"
    started = time.monotonic()
    child = pexpect.spawn(
        "/bin/bash", ["-c", script, MFA, str(outdir)], env=mfa.home.env, cwd=str(mfa.home.home), encoding="utf-8"
    )
    child.logfile_read = io.StringIO()
    try:
        child.expect_exact(PROMPT, timeout=60)
        child.expect_exact(": ", timeout=5)
        to_prompt = time.monotonic() - started
        child.sendline(mfa.proxy.fresh_code())
        child.expect(pexpect.EOF, timeout=90)
    finally:
        child.close(force=True)
    elapsed = time.monotonic() - started
    screen = child.logfile_read.getvalue()
    mfa.texts.append(("cold round terminal", screen))
    assert screen.count(PROMPT) == 1, screen
    # the waiting processes share the prompt's terminal: at most one notice lands near the question
    assert screen.count("waiting for another mfa-process asking for the MFA code") <= 1, screen
    results = [
        Result(
            int((outdir / f"rc.{i}").read_text()),
            (outdir / f"out.{i}").read_text(),
            (outdir / f"err.{i}").read_text(),
        )
        for i in range(1, PROCESSES + 1)
    ]
    for result in results:
        mfa.record("cold round", ["--profile", "source"], result)
    return results, to_prompt, elapsed


def assert_identical_credentials(results: list[Result], mfa: Helper) -> None:
    assert all(r.code == 0 and r.stderr == "" for r in results), [r for r in results if r.code or r.stderr][:3]
    docs = {r.stdout for r in results}
    assert len(docs) == 1, f"{len(docs)} different outputs"
    doc = json.loads(docs.pop())
    assert doc["SessionToken"] == mfa.proxy.issued[-1].session_token


def test_fifty_processes_twenty_rounds(mfa, tmp_path, record_timing):
    """Rounds of 50 helpers at once: cold ones (nothing cached: one prompt, one GetSessionToken for all 50)
    and warm ones (no prompt possible, no STS call), with ``logout`` before each later cold round."""
    from tests.support.gnome_keyring import daemon_pid

    daemon_before = daemon_pid()
    cold_rounds = (0, 7, 14)
    warm_times: list[float] = []
    cold_times: list[float] = []
    for n in range(20):
        if n in cold_rounds:
            if n:
                out = mfa.run("logout", "--profile", "source")
                assert out.code == 0 and "removed 1 cached entry" in out.stdout, out
            results, to_prompt, elapsed = cold_round(mfa, tmp_path / f"round{n}")
            if not n:
                record_timing(
                    f"{PROCESSES} at once, cold: prompt after {to_prompt:.1f} s, all done after {elapsed:.1f} s"
                )
            cold_times.append(elapsed)
        else:
            results, elapsed = run_round(mfa, tmp_path / f"round{n}")
            warm_times.append(elapsed)
        assert len(results) == PROCESSES
        assert_identical_credentials(results, mfa)
        calls = sum(1 for r in cold_rounds if r <= n)
        assert mfa.proxy.get_session_token_calls == calls, f"round {n}"
    locks = sorted((mfa.state / "locks").iterdir())
    assert locks and all(lock_is_free(p) for p in locks)
    assert len(locks) == 2  # the session's and the index's: one file per key, kept by design
    record_timing(
        f"20 rounds of {PROCESSES}: {len(cold_times)} cold (max {max(cold_times):.1f} s), "
        f"{len(warm_times)} warm (mean {sum(warm_times) / len(warm_times):.2f} s, max {max(warm_times):.2f} s)"
    )
    daemon_after = daemon_pid()
    record_timing(f"gnome-keyring-daemon pid before {daemon_before}, after {daemon_after}")
    assert daemon_after == daemon_before, "the Secret Service daemon was replaced during the load"


def test_login_does_not_claim_a_session_it_could_not_cache(mfa):
    session = mfa.spawn("login", "--profile", "source", env=mfa.keyring_env("WriteFails"))
    session.answer()
    result = session.finish()
    assert result.code == 5, result
    assert "cached until" not in result.stdout + result.screen, result
    assert "could not cache the credentials" in result.screen
    assert result.lines == [
        "mfa-process: the new credentials of profile 'source' could not be cached (see the line above), so the "
        "next call will ask for a code again; fix the keyring and run `mfa-process login --profile source` again"
    ], result
    assert_nothing_cached(mfa)


@pytest.mark.parametrize("command", [["login"], []], ids=["login", "credential_process"])
def test_a_clock_twenty_years_ahead_is_named(mfa, command):
    session = mfa.spawn(*command, "--profile", "source", prefix=["faketime", "-f", "+7300d"])
    session.answer()
    result = session.finish()
    assert result.code == 1, result
    assert result.stdout == "" and "Traceback" not in result.stderr, result
    assert len(result.lines) == 1, result
    assert result.lines[0].startswith("mfa-process: the new MFA session already looks expired because this "), result
    assert re.search(r"clock is 73\d\d days ahead of AWS's \(the Date of its answer\); set the clock", result.lines[0])
    assert_nothing_cached(mfa)
