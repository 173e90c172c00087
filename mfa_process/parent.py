"""Whether the program that started this process is still waiting for it.

A client that gives up on a credential_process helper kills what it started: with ``sh -c`` that is the
shell, and a shell that forks (Debian's dash does) leaves the helper running, re-parented, still holding
the terminal. The parent's PID is the one :mod:`mfa_process.cli` noted at start (without it, the one when
this module is first imported) and is compared on each poll. ``prctl(PR_SET_PDEATHSIG)`` is not used: it
fires when the parent *thread* ends, which the Go runtime does on its own, and a signal would end the
helper without restoring the terminal or saying why.
"""

from __future__ import annotations

import os
import sys


def _noted() -> int:
    noted = getattr(sys.modules.get("mfa_process.cli"), "PARENT_AT_START", None)
    return noted if isinstance(noted, int) else os.getppid()


#: The parent when this process started.
_STARTED_BY = _noted()


def gone() -> bool:
    """Whether the parent this process started with has exited (the process was re-parented)."""
    return os.getppid() != _STARTED_BY


def never() -> bool:
    """A stand-in for :func:`gone` that never reports the parent gone (tests, in-process callers)."""
    return False
