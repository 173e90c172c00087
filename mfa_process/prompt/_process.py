"""Run a helper program (a dialog, a token command) with a time limit, leaving nothing behind.

On POSIX the program starts in a new session, so it is also its own process group: on a timeout or a
Ctrl-C the whole group is killed, including what a shell started (``sh -c 'cmd; other'`` does not
``exec``). A new session also keeps the program off the terminal the prompt and the AWS CLI use; its stdin
is ``/dev/null`` in any case, because a credential_process helper's stdin belongs to the SDK. On Windows
only the program itself is killed.

``subprocess`` is imported here, on the first run, not when a driver is chosen.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from mfa_process.errors import PromptError

if TYPE_CHECKING:
    import subprocess

#: Characters kept of the stderr line quoted in an error.
MAX_STDERR_CHARS = 200


class Finished(NamedTuple):
    """A program that ran to the end."""

    returncode: int
    stdout: str
    stderr: str


def run(args: str | Sequence[str], *, shell: bool = False, timeout: float, what: str) -> Finished:
    """Run ``args`` with stdin from ``/dev/null``; :class:`PromptError` naming ``what`` on a timeout."""
    import subprocess

    posix = os.name == "posix"
    with subprocess.Popen(
        args,
        shell=shell,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=posix,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc, posix)
            raise PromptError(f"{what} timed out after {timeout:g} s") from None
        except BaseException:
            _kill(proc, posix)
            raise
    return Finished(proc.returncode, _decode(out), _decode(err))


def exit_description(returncode: int) -> str:
    """``"exited with code 3"`` or, for a negative POSIX code, ``"was killed by signal 9"``."""
    if returncode < 0:
        return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def last_line(text: str) -> str:
    """The last non-empty line of ``text``, printable characters only, at most ~200 characters."""
    for line in reversed(text.splitlines()):
        clean = "".join(char if char.isprintable() else "?" for char in line.strip())
        if clean:
            if len(clean) > MAX_STDERR_CHARS:
                clean = clean[: MAX_STDERR_CHARS - 3] + "..."
            return clean
    return ""


def _kill(proc: subprocess.Popen[bytes], posix: bool) -> None:
    """Kill ``proc`` and, on POSIX, every process in its group; then reap it."""
    if posix:
        import signal

        with contextlib.suppress(OSError):  # the group is already gone
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait()


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")
