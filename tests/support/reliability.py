"""Running the helper itself in a throwaway HOME, with every text it shows kept for a secret scan.

Used by ``tests/integration/test_reliability.py``, ``test_bad_input.py`` and ``test_secrets.py``.

Fixtures:

* ``mfa`` (function): a :class:`Helper` for ``aws_home`` and ``sts_proxy``. It runs ``mfa-process``
  with no terminal (:meth:`Helper.run`) or on a pseudo-terminal with stdout and stderr going to files
  outside HOME, as botocore wires a credential_process helper (:meth:`Helper.spawn`). At teardown it
  scans everything it saw for the long-term secret key and every secret and token STS issued: every
  stderr, the stdout of commands that do not print credentials, every terminal screen, and every file
  under HOME except ``~/.aws/credentials`` (plus any other directory given to :meth:`Helper.also_scan`,
  minus files the user was told hold the key, :meth:`Helper.allow`).
  A hit fails the test.
* ``failing_keyring`` (function): the directory of a module ``failing_keyring`` with keyring backends
  that raise on purpose; pass :meth:`Helper.keyring_env` to a run to select one.

The run's summary gets a "reliability" section: tests per file and outcome, how many texts and files the
secret scans covered, and the timings the load tests recorded with ``record_timing``.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shlex
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import pexpect  # type: ignore[import-untyped]
import pytest

from tests.support.fixtures import MfaStsProxy
from tests.support.home import VENV_BIN, AwsHome

MFA = str(VENV_BIN / "mfa-process")
#: What the helper writes on the terminal when it asks for a code.
PROMPT = "MFA code for"
#: The helper's answer to a line that is not a code (mfa_process.prompt.code.RETRY_MESSAGE).
RETRY = "That is not a 6-digit code; try again."
#: Commands whose stdout holds no credentials, so it is scanned too.
QUIET_COMMANDS = frozenset({"status", "logout", "login", "setup", "policy", "store-keys"})
#: Upper bound for one helper run; a run that takes longer is a hang.
RUN_TIMEOUT = 45.0
#: The files of the reliability suite, for the summary.
SUITE_FILES = ("test_reliability.py", "test_bad_input.py", "test_secrets.py")

FAILING_KEYRING = '''\
"""Keyring backends that fail on purpose; select one with PYTHON_KEYRING_BACKEND=failing_keyring.NAME."""

import keyring.errors
from keyring.backends.SecretService import Keyring as SecretService


class ReadFails(SecretService):
    """Every read raises; writes reach the Secret Service."""

    priority = 1

    def get_password(self, service, username):
        raise RuntimeError("the vault refused to read " + username)


class WriteFails(SecretService):
    """Every write raises (its message holds the value, as some backends' do); reads work."""

    priority = 1

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError("refused to store " + password)


class ReadEchoes(SecretService):
    """Reads raise with the stored value in the message (a backend that shows what it cannot decode)."""

    priority = 1

    def get_password(self, service, username):
        value = super().get_password(service, username)
        if value is None:
            return None
        raise ValueError("cannot decode " + value)


class Locked(SecretService):
    """The keyring is locked."""

    priority = 1

    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("the collection is locked")
'''


class Result(NamedTuple):
    """How one helper run ended."""

    code: int
    stdout: str
    stderr: str
    screen: str = ""

    @property
    def lines(self) -> list[str]:
        """stderr's lines."""
        return self.stderr.splitlines()


@dataclass
class ScanStats:
    """How much the secret scans of a run covered."""

    tests: int = 0
    texts: int = 0
    files: int = 0
    secrets: int = 0


@dataclass
class Session:
    """The helper on a pseudo-terminal; its stdout and stderr go to files, the terminal shows the rest."""

    child: pexpect.spawn
    out: Path
    err: Path
    proxy: MfaStsProxy
    on_finish: Callable[[Result], None]
    result: Result | None = field(default=None)

    @property
    def screen(self) -> str:
        """Everything written on the terminal so far."""
        log = self.child.logfile_read
        assert isinstance(log, io.StringIO)
        return log.getvalue()

    def expect(self, pattern: str, timeout: float = 30) -> None:
        """Wait for *pattern* (a regex) on the terminal."""
        self.child.expect(pattern, timeout=timeout)

    def expect_exact(self, text: str, timeout: float = 30) -> None:
        """Wait for *text* on the terminal."""
        self.child.expect_exact(text, timeout=timeout)

    def wait_prompt(self, timeout: float = 30) -> None:
        """Wait until the helper asks and reads (the end of its prompt line)."""
        self.child.expect_exact(PROMPT, timeout=timeout)
        self.child.expect_exact(": ", timeout=5)

    def type(self, text: str) -> None:
        """Type *text* and Enter."""
        self.child.sendline(text)

    def answer(self, timeout: float = 30) -> str:
        """Wait for the prompt and type a code the proxy accepts; the code."""
        self.wait_prompt(timeout)
        code = self.proxy.fresh_code()
        self.type(code)
        return code

    def finish(self, timeout: float = RUN_TIMEOUT) -> Result:
        """Wait for the end; exit code (128+N for a signal), stdout and stderr files, screen."""
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.child.close()
        status = self.child.exitstatus
        code = 128 + int(self.child.signalstatus) if status is None else int(status)
        self.result = Result(code, self.out.read_text(), self.err.read_text(), self.screen)
        self.on_finish(self.result)
        return self.result

    def kill(self) -> None:
        """End the child whatever it is doing (teardown of a failed test)."""
        if self.child.isalive():
            self.child.close(force=True)


class Helper:
    """``mfa-process`` in one HOME; every text it shows is kept for the secret scan."""

    def __init__(self, home: AwsHome, proxy: MfaStsProxy, io_dir: Path, keyring_dir: Path) -> None:
        self.home = home
        self.proxy = proxy
        self.io_dir = io_dir
        self.keyring_dir = keyring_dir
        self.texts: list[tuple[str, str]] = []
        self.scan_dirs: list[Path] = []
        self.allowed: set[Path] = {home.credentials_path}
        #: Leaks a test has already failed on (the teardown scan reports only new ones).
        self.reported: set[str] = set()
        self.sessions: list[Session] = []
        self._runs = 0

    @property
    def state(self) -> Path:
        """The default state directory of this HOME."""
        return self.home.home / ".local" / "state" / "mfa-process"

    def keyring_env(self, backend: str) -> dict[str, str]:
        """Environment selecting ``failing_keyring.<backend>``."""
        return {"PYTHONPATH": str(self.keyring_dir), "PYTHON_KEYRING_BACKEND": f"failing_keyring.{backend}"}

    def allow(self, path: Path) -> None:
        """Let *path* hold the long-term key (a file the user was told about, like a backup of credentials)."""
        self.allowed.add(path)

    def also_scan(self, directory: Path) -> None:
        """Scan *directory* too at teardown (a state directory outside HOME)."""
        self.scan_dirs.append(directory)

    def record(self, label: str, args: Sequence[str], result: Result) -> None:
        """Keep what a run showed; stdout only when the command prints no credentials."""
        self.texts.append((f"{label} stderr", result.stderr))
        if result.screen:
            self.texts.append((f"{label} terminal", result.screen))
        if args and args[0] in QUIET_COMMANDS:
            self.texts.append((f"{label} stdout", result.stdout))

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
        timeout: float = RUN_TIMEOUT,
    ) -> Result:
        """Run with no controlling terminal (as from an IDE or cron)."""
        done = subprocess.run(
            [*prefix, MFA, *args],
            env={**self.home.env, **(env or {})},
            cwd=self.home.home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
            check=False,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        self.record(f"mfa-process {shlex.join(args)}", args, result)
        return result

    def spawn(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
        umask: int = 0o022,
    ) -> Session:
        """Run on a new pseudo-terminal, stdin too, stdout and stderr to files outside HOME."""
        self._runs += 1
        out, err = self.io_dir / f"out.{self._runs}", self.io_dir / f"err.{self._runs}"
        script = f'umask {umask:03o}; out=$1 err=$2; shift 2; exec "$@" >"$out" 2>"$err"'
        child = pexpect.spawn(
            "/bin/sh",
            ["-c", script, "sh", str(out), str(err), *prefix, MFA, *args],
            env={**self.home.env, **(env or {})},
            cwd=str(self.home.home),
            encoding="utf-8",
            codec_errors="replace",
            timeout=30,
            dimensions=(50, 250),
        )
        child.logfile_read = io.StringIO()
        label = f"mfa-process {shlex.join(args)} (terminal)"
        session = Session(child, out, err, self.proxy, lambda result: self.record(label, args, result))
        self.sessions.append(session)
        return session

    def secrets(self) -> dict[str, str]:
        """The long-term secret key and every secret key and session token STS handed out, by name."""
        values = {"the long-term secret key": self.proxy.secret_access_key}
        for n, issued in enumerate(self.proxy.issued, 1):
            values[f"secret key #{n} ({issued.action})"] = issued.secret_access_key
            values[f"session token #{n} ({issued.action})"] = issued.session_token
        return {name: value for name, value in values.items() if value}

    def scan(self) -> tuple[list[str], int, int]:
        """Where a secret (or a 20-character piece of one) appears, as ``"where: what"``; texts and files seen.

        Files the user was told hold the long-term key (:meth:`allow`) are searched for the others only.
        """
        needles = [(name, piece) for name, secret in self.secrets().items() for piece in fragments(secret)]
        hits = []
        for label, text in self.texts:
            hits += [f"{label}: {name}" for name, piece in needles if piece in text]
        files = 0
        for root in [self.home.home, *self.scan_dirs]:
            for path in sorted(root.rglob("*")):
                if path.is_symlink() or not path.is_file():
                    continue
                files += 1
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                for name, piece in needles:
                    if piece.encode() in data and not (path in self.allowed and name == "the long-term secret key"):
                        hits.append(f"file {path}: {name}")
        return sorted(set(hits)), len(self.texts), files


def fragments(secret: str) -> list[str]:
    """The secret and pieces of it long enough to identify it (a truncated leak is still a leak).

    Session tokens start with a constant prefix; the pieces come from their random middle and end.
    """
    if len(secret) < 40:
        return [secret]
    middle = len(secret) // 2
    return [secret, secret[middle - 10 : middle + 10], secret[-20:]]


_STATS = pytest.StashKey[ScanStats]()
_TIMINGS = pytest.StashKey[list[str]]()


@pytest.fixture
def failing_keyring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``failing_keyring.py`` (outside every HOME)."""
    directory = tmp_path_factory.mktemp("keyring-backends")
    (directory / "failing_keyring.py").write_text(FAILING_KEYRING)
    return directory


@pytest.fixture
def mfa(
    request: pytest.FixtureRequest,
    aws_home: AwsHome,
    sts_proxy: MfaStsProxy,
    tmp_path_factory: pytest.TempPathFactory,
    failing_keyring: Path,
) -> Iterator[Helper]:
    """The helper in ``aws_home``; at teardown no secret may appear in anything it showed or wrote."""
    helper = Helper(aws_home, sts_proxy, tmp_path_factory.mktemp("io"), failing_keyring)
    yield helper
    for session in helper.sessions:
        session.kill()
    hits, texts, files = helper.scan()
    stats = request.config.stash.setdefault(_STATS, ScanStats())
    stats.tests += 1
    stats.texts += texts
    stats.files += files
    stats.secrets += len(helper.secrets())
    new = [hit for hit in hits if hit not in helper.reported]
    if new:
        pytest.fail("secret leaked:\n" + "\n".join(new), pytrace=False)


@pytest.fixture
def record_timing(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``record(line)``: a timing for the run's summary."""

    def record(line: str) -> None:
        request.config.stash.setdefault(_TIMINGS, []).append(f"{request.node.name}: {line}")

    return record


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Tests per reliability file and outcome, what the secret scans covered, the load timings."""
    counts: dict[str, Counter[str]] = {}
    for outcome in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(outcome, []):
            name = Path(str(getattr(report, "fspath", "") or report.nodeid.split("::")[0])).name
            if name in SUITE_FILES and (report.when == "call" or outcome in ("error", "skipped")):
                counts.setdefault(name, Counter())[outcome] += 1
    stats = config.stash.get(_STATS, None)
    timings = config.stash.get(_TIMINGS, [])
    if not counts and stats is None and not timings:
        return
    terminalreporter.section("reliability")
    for name in SUITE_FILES:
        if name in counts:
            parts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts[name].items()))
            terminalreporter.write_line(f"{name}: {parts}")
    if stats is not None:
        terminalreporter.write_line(
            f"secret scan: {stats.tests} tests, {stats.texts} outputs and {stats.files} files searched "
            f"for {stats.secrets} secrets"
        )
    for line in timings:
        terminalreporter.write_line(line)


def assert_one_line(result: Result, code: int, *needles: str) -> str:
    """Exit *code*, nothing on stdout, no traceback, stderr one ``mfa-process: ...`` line holding every needle.

    The line is returned for further checks.
    """
    assert result.code == code, result
    assert result.stdout == "", result
    assert "Traceback" not in result.stderr + result.screen, result
    assert len(result.lines) == 1, result.stderr
    line = result.lines[0]
    assert line.startswith("mfa-process: "), line
    for needle in needles:
        assert needle in line, line
    return line


def session_key(proxy: MfaStsProxy, profile: str = "source") -> str:
    """The cache key of a profile's MFA session, ``session|v1|<profile>|<serial>`` (mfa_process/cache.py)."""
    return f"session|v1|{profile}|{proxy.mfa_serial}"


def lock_file(state: Path, key: str) -> Path:
    """The lock file of a cache key, ``<state>/locks/<sha256(key)[:32]>.lock`` (mfa_process/lock.py)."""
    return state / "locks" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock"


def lock_is_free(path: Path) -> bool:
    """Whether no process holds the flock on *path* (tried without waiting, never through a symlink)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll *condition* until it holds or *timeout* seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def env_without(env: Mapping[str, str], *names: str) -> dict[str, str]:
    """*env* without *names*."""
    return {k: v for k, v in env.items() if k not in names}


def is_root() -> bool:
    """Whether the tests run as root (file permissions do not stop root)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0
