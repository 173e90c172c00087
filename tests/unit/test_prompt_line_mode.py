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


def test_a_shell_reading_its_line_in_canonical_mode_is_not_a_waiting_shell() -> None:
    """Canonical mode with echo is a waiting shell only when the shell is not blocked reading the terminal
    (dash, ``bash --noediting``); raw mode (a line editor) is never one, whatever it is blocked in."""
    master, slave = pty.openpty()
    try:
        for blocked_in, waits in (("do_wait", True), ("sigsuspend", True), (None, True), ("wait_woken", False)):
            assert terminal._shell_waits(slave, 1, lambda _pid, name=blocked_in: name) is waits, blocked_in
        tty.setraw(slave)
        assert terminal._shell_waits(slave, 1, lambda _pid: "do_wait") is False
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.skipif(not os.path.exists("/proc/self/wchan"), reason="wchan is Linux's")
def test_wchan_names_a_process_blocked_reading_a_terminal_as_reading_it() -> None:
    """The kernel's own answer on this machine: a child blocked in read() on a pty, and one in wait4()."""
    import subprocess
    import time

    master, slave = pty.openpty()
    reader = subprocess.Popen(["cat"], stdin=slave, stdout=subprocess.DEVNULL)
    waiter = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True)
    try:
        guard = time.monotonic() + 60  # a hang guard: until both are asleep where they will stay
        while terminal.wchan(reader.pid) not in terminal.READING_TERMINAL or terminal.wchan(waiter.pid) is None:
            assert time.monotonic() < guard, (terminal.wchan(reader.pid), terminal.wchan(waiter.pid))
            time.sleep(0.05)
        assert terminal.wchan(waiter.pid) not in terminal.READING_TERMINAL
    finally:
        reader.kill()
        os.killpg(waiter.pid, 9)  # sh and its sleep
        for process in (reader, waiter):
            process.wait()
        os.close(master)
        os.close(slave)
