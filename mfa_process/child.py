"""Run a command as a child process: signals sent to us are passed on, its exit status becomes ours.

Used by ``exec --server``, which cannot replace itself with the command (it keeps serving). Ctrl-C and
Ctrl-\\ on the terminal already reach the child, which shares our process group: those are not sent a
second time (a second interrupt makes Terraform abandon its work); the same signals sent to mfa-process
alone (``kill -INT PID``) are.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence

from mfa_process.errors import CommandNotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Final

#: Signals passed on to the child.
FORWARDED: Final = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)
#: Signals a terminal sends to its whole foreground process group.
TERMINAL_SIGNALS: Final = tuple(getattr(signal, name) for name in ("SIGINT", "SIGQUIT") if hasattr(signal, name))


def terminal_sent_to_group() -> bool:
    """Whether our process group is the terminal's foreground group (so a keyboard signal reached the child too)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def forwards(signum: int, from_terminal: Callable[[], bool] = terminal_sent_to_group) -> bool:
    """Whether *signum*, received by mfa-process, is passed on (not when the terminal already sent it to the child)."""
    return signum not in TERMINAL_SIGNALS or not from_terminal()


def run_child(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Run *command* to its end; its return code (negative: the signal that ended it)."""
    import subprocess

    started: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if not forwards(signum):
            return
        if not started:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            started[0].send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        try:
            started.append(subprocess.Popen(list(command), env=dict(env)))
        except FileNotFoundError:
            raise CommandNotFound(f"command not found: {command[0]}") from None
        except PermissionError:
            raise CommandNotFound(f"command not executable: {command[0]}") from None
        for signum in pending:
            started[0].send_signal(signum)
        return started[0].wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_like(returncode: int) -> int:
    """The exit code for a child's *returncode*; a child killed by a signal kills us with the same signal."""
    if returncode >= 0:
        return returncode
    signum = -returncode
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.platform != "win32":
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    return 128 + signum
