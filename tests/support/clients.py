"""Running real AWS clients against the helper: a counting wrapper, terminals, and fresh MFA codes.

The compatibility tests (``tests/integration/test_compat_*.py``) register the helper in a throwaway
HOME as profile ``source-mfa`` and run the aws CLIs, boto3, the JavaScript SDK and Terraform through
it. :class:`HelperRuns` puts a small shell wrapper in front of ``mfa-process`` that logs one line per
run (and whether each standard stream was a terminal), so a test can tell how often a client ran the
helper and how it wired its stdio.
"""

from __future__ import annotations

import io
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pexpect

from tests.support.home import VENV_BIN, AwsHome
from tests.support.totp_proxy import StsProxy

MFA = str(VENV_BIN / "mfa-process")
AWS_V1 = str(VENV_BIN / "aws")
AWS_V2 = "/usr/bin/aws"
#: The profile every compatibility test uses: ``credential_process`` running the helper for ``source``.
HELPER_PROFILE = "source-mfa"
#: What the helper writes on the terminal when it asks.
PROMPT = "MFA code for"
#: Upper bound for one client command (they take a second or two here).
COMMAND_TIMEOUT = 60

_WRAPPER = """#!/bin/sh
# Log one line per helper run, then become the helper.
if [ -t 0 ]; then in=tty; else in=notty; fi
if [ -t 1 ]; then out=tty; else out=notty; fi
if [ -t 2 ]; then err=tty; else err=notty; fi
echo "pid=$$ stdin=$in stdout=$out stderr=$err" >> {log}
exec {mfa} "$@"
"""


@dataclass(frozen=True)
class HelperRun:
    """One run of the helper as the wrapper saw it."""

    pid: int
    stdin: str
    stdout: str
    stderr: str


class HelperRuns:
    """A wrapper script in *home* that counts helper runs; register it with :meth:`register`."""

    def __init__(self, home: AwsHome) -> None:
        self.home = home
        self.log = home.home / "helper-runs.log"
        self.script = home.home / "bin" / "mfa-process-counted"
        self.script.parent.mkdir(parents=True, exist_ok=True)
        self.script.write_text(_WRAPPER.format(log=shlex.quote(str(self.log)), mfa=shlex.quote(MFA)))
        self.script.chmod(0o755)

    def register(self, extra: Sequence[str] = (), *, profile: str = HELPER_PROFILE) -> None:
        """Add ``[profile source-mfa]`` whose ``credential_process`` runs the wrapper for ``source``."""
        command = shlex.join([str(self.script), "--profile", "source", *extra])
        text = self.home.config_path.read_text()
        text += f"\n[profile {profile}]\ncredential_process = {command}\nregion = us-east-1\n"
        self.home.config_path.write_text(text)

    def runs(self) -> list[HelperRun]:
        """Every run so far, in order."""
        if not self.log.exists():
            return []
        runs = []
        for line in self.log.read_text().splitlines():
            fields = dict(part.split("=", 1) for part in line.split())
            runs.append(HelperRun(int(fields["pid"]), fields["stdin"], fields["stdout"], fields["stderr"]))
        return runs

    @property
    def count(self) -> int:
        """How many times a client ran the helper."""
        return len(self.runs())


#: Children started by :func:`spawn` and not yet reaped by :func:`close_children`.
_children: list[pexpect.spawn] = []


def spawn(home: AwsHome, argv: Sequence[str], *, cwd: Path | None = None, **env: str) -> pexpect.spawn:
    """Run *argv* on a new pseudo-terminal (its controlling terminal); ``logfile_read`` keeps the screen.

    Whatever is still running when the test ends is killed (see :func:`close_children`).
    """
    child = pexpect.spawn(
        argv[0],
        list(argv[1:]),
        env={**home.env, **env},
        cwd=str(cwd or home.home),
        encoding="utf-8",
        codec_errors="replace",
        timeout=COMMAND_TIMEOUT,
        dimensions=(50, 250),
    )
    child.logfile_read = io.StringIO()
    _children.append(child)
    return child


def close_children() -> None:
    """Hang up on every child :func:`spawn` started, so that none outlives its test and calls the
    session-wide proxy during the next one (closing the terminal sends SIGHUP, then SIGKILL)."""
    while _children:
        child = _children.pop()
        if not child.closed:
            child.close(force=True)


def screen(child: pexpect.spawn) -> str:
    """Everything the child wrote on its terminal so far."""
    log = child.logfile_read
    assert isinstance(log, io.StringIO)
    return log.getvalue()


def finish(child: pexpect.spawn, timeout: float = COMMAND_TIMEOUT) -> int:
    """Wait for the child to end; its exit status (a signal is a failure)."""
    child.expect(pexpect.EOF, timeout=timeout)
    child.close()
    assert child.signalstatus is None, f"killed by signal {child.signalstatus}:\n{screen(child)}"
    return int(child.exitstatus)


def run_detached(
    home: AwsHome,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = COMMAND_TIMEOUT,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run with no controlling terminal at all (as from an IDE or cron): the helper cannot prompt.

    *preexec_fn* runs in the child before the program (e.g. :func:`tests.support.seccomp.deny_key_syscalls`).
    """
    return subprocess.run(
        list(argv),
        env={**home.env, **(env or {})},
        cwd=cwd or home.home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        preexec_fn=preexec_fn,
        check=False,
    )


def answer_prompt(child: pexpect.spawn, proxy: StsProxy, timeout: float = COMMAND_TIMEOUT) -> str:
    """Wait for the helper's prompt on the child's terminal and type a fresh code; the code typed."""
    child.expect(PROMPT, timeout=timeout)
    child.expect(r": ", timeout=5)  # the end of the prompt line: the helper is reading now
    code = proxy.fresh_code()
    child.sendline(code)
    return code
