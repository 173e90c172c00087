"""Running exec --server's command: which signals are passed on, and how its exit status becomes ours."""

from __future__ import annotations

import signal
import subprocess
import sys

from mfa_process.child import exit_like, forwards, run_child


def test_keyboard_signals_from_the_terminal_are_not_sent_twice():
    assert not forwards(signal.SIGINT, lambda: True)
    assert not forwards(signal.SIGQUIT, lambda: True)
    assert forwards(signal.SIGINT, lambda: False)  # `kill -INT` to mfa-process alone
    assert forwards(signal.SIGTERM, lambda: True)
    assert forwards(signal.SIGHUP, lambda: True)


def test_exit_status_passes_through():
    assert run_child([sys.executable, "-c", "raise SystemExit(9)"], {}) == 9
    assert exit_like(9) == 9


def test_a_child_killed_by_a_signal_kills_us_with_the_same_signal():
    code = "from mfa_process.child import exit_like; import signal; exit_like(-signal.SIGUSR1)"
    result = subprocess.run([sys.executable, "-c", code], timeout=60, check=False)
    assert result.returncode == -signal.SIGUSR1
