"""The POSIX terminal is in line mode before the question appears (a real pseudo-terminal, no process)."""

from __future__ import annotations

import os
import pty
import termios
import tty

import pytest

from mfa_process.prompt import terminal

MESSAGE = "MFA code for arn:aws:iam::123456789012:mfa/alice: "
LINE_MODE = termios.ICANON | termios.ECHO | termios.ISIG


class RecordingTty(terminal._PosixTty):
    """The real driver on a pty, noting the terminal's local modes each time it writes."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self.modes_at_write: list[int] = []

    def write(self, text: str) -> None:
        self.modes_at_write.append(termios.tcgetattr(self._fd)[3])
        super().write(text)

    def take_foreground(self):  # type: ignore[no-untyped-def]
        return terminal._nothing  # the pty is nobody's controlling terminal here

    def close(self) -> None:
        """Kept open: the test closes it."""


@pytest.fixture
def raw_pty():  # type: ignore[no-untyped-def]
    master, slave = pty.openpty()
    tty.setraw(slave)  # as a full-screen parent leaves it
    yield master, slave
    os.close(master)
    os.close(slave)


def test_a_raw_terminal_is_in_line_mode_before_the_question_is_shown(raw_pty, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    master, slave = raw_pty
    console = RecordingTty(slave)
    monkeypatch.setattr(terminal, "open_console", lambda *a, **k: console)
    os.write(master, b"123456\n")  # typed ahead: the answer waits in the queue
    assert terminal.prompt(MESSAGE, abandoned=lambda: False) == "123456"
    # Before the fix the question was written while the terminal was still raw, so a Ctrl-C typed the
    # moment it appeared was queued as a plain byte and the line never ended.
    assert console.modes_at_write and all(mode & LINE_MODE == LINE_MODE for mode in console.modes_at_write)
    assert termios.tcgetattr(slave)[3] & LINE_MODE == 0  # raw again afterwards
