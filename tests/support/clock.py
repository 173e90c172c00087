"""Time as a test input: run a program with its clock moved or frozen, through Debian's libfaketime.

No test waits for the wall clock to reach a point (which depends on how fast the machine runs the steps
before): a test that needs "later" runs the program with its clock moved forward, and a test that needs
"within a few seconds" runs every program at one frozen instant. The monotonic clock is left alone, so
timeouts and hang guards keep working. ``scripts/deps.sh`` installs ``libfaketime``.
"""

from __future__ import annotations

import glob
from datetime import datetime, timezone

import pytest

#: Where Debian's libfaketime lives (the multiarch directory varies).
_PATTERN = "/usr/lib/*/faketime/libfaketime.so.1"


def _library() -> str:
    found = sorted(glob.glob(_PATTERN))
    if not found:
        pytest.fail(f"libfaketime is not installed ({_PATTERN}): run scripts/deps.sh")
    return found[0]


def _env(spec: str) -> dict[str, str]:
    return {
        "LD_PRELOAD": _library(),
        "FAKETIME": spec,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_NO_CACHE": "1",
        "DONT_FAKE_MONOTONIC": "1",  # the name older libfaketime releases read
    }


def shifted(seconds: int) -> dict[str, str]:
    """Environment that runs a program *seconds* later than now (real time still passes)."""
    return _env(f"{seconds:+d}s")


def frozen(at: str | datetime = "2026-12-01 12:00:00") -> dict[str, str]:
    """Environment that runs every program at the same instant *at* (UTC), however long it takes."""
    if isinstance(at, datetime):
        at = at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return {**_env(at), "TZ": "UTC"}
