"""The Windows console path of the terminal driver, through its opener seam (runs on any OS)."""

from __future__ import annotations

import io
from typing import IO, Any

import pytest

from mfa_process.errors import NoTerminalError, PromptCancelled
from mfa_process.prompt import terminal
from mfa_process.prompt.code import ask_code

MESSAGE = "MFA code for arn:aws:iam::123456789012:mfa/alice: "


class Device(io.StringIO):
    """A console device: like the real one, its contents outlive each open and close."""

    closes = 0

    def close(self) -> None:
        self.closes += 1


class FakeConsole:
    """An opener for ``CONIN$``/``CONOUT$`` that records how they were opened."""

    def __init__(self, typed: str = "", *, fail: str | None = None, interrupt: bool = False) -> None:
        self.conin = Device(typed)
        self.conout = Device()
        self.fail = fail
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        if interrupt:
            self.conin.readline = self._interrupt  # type: ignore[method-assign]

    def _interrupt(self, limit: int = -1) -> str:
        raise KeyboardInterrupt

    def __call__(self, name: str, mode: str, **kwargs: Any) -> IO[str]:
        self.calls.append((name, mode, kwargs))
        if name == self.fail:
            raise PermissionError(13, "Access is denied")
        return self.conin if name == "CONIN$" else self.conout


def test_windows_prompt_reads_conin_and_writes_conout() -> None:
    console = FakeConsole("123 456\r\n")
    assert terminal.prompt(MESSAGE, platform="win32", opener=console) == "123 456"
    assert console.conout.getvalue() == MESSAGE
    assert [(name, mode) for name, mode, _ in console.calls] == [("CONIN$", "r"), ("CONOUT$", "w")]
    assert all(kwargs == {"encoding": "utf-8", "errors": "replace"} for _, _, kwargs in console.calls)
    assert (console.conin.closes, console.conout.closes) == (1, 1)


def test_windows_retry_loop() -> None:
    console = FakeConsole("12345\r\n654321\r\n")
    driver = lambda message: terminal.prompt(message, platform="win32", opener=console)  # noqa: E731
    assert ask_code(driver, MESSAGE) == "654321"


def test_windows_long_line_is_cut_and_the_rest_discarded() -> None:
    console = FakeConsole("9" * 1000 + "\r\n" + "next\r\n")
    assert terminal.prompt(MESSAGE, platform="win32", opener=console) == "9" * terminal.MAX_LINE_BYTES
    assert console.conin.readline() == "next\r\n"  # the following line is untouched


@pytest.mark.parametrize(("fail", "conin_closes"), [("CONIN$", 0), ("CONOUT$", 1)])
def test_windows_without_console(fail: str, conin_closes: int) -> None:
    console = FakeConsole("123456\r\n", fail=fail)
    with pytest.raises(NoTerminalError) as caught:
        terminal.prompt(MESSAGE, platform="win32", opener=console)
    assert str(caught.value) == f"cannot open {fail}: Access is denied"
    assert console.conin.closes == conin_closes  # CONIN$ is not leaked when CONOUT$ fails
    assert not terminal.terminal_available("win32", opener=FakeConsole(fail=fail))
    assert terminal.notify("hello", platform="win32", opener=FakeConsole(fail=fail)) is False


def test_windows_end_of_input_cancels() -> None:
    console = FakeConsole("")
    with pytest.raises(PromptCancelled, match="end of input"):
        terminal.prompt(MESSAGE, platform="win32", opener=console)
    assert console.conout.getvalue() == MESSAGE + "cancelled\n"  # the prompt's line ends with the outcome


def test_windows_ctrl_c_cancels_and_closes() -> None:
    console = FakeConsole(interrupt=True)
    with pytest.raises(PromptCancelled, match="Ctrl-C") as caught:
        terminal.prompt(MESSAGE, platform="win32", opener=console)
    assert caught.value.__suppress_context__
    assert (console.conin.closes, console.conout.closes) == (1, 1)
    assert console.conout.getvalue() == MESSAGE + " cancelled\n"


def test_windows_available_and_notify() -> None:
    assert terminal.terminal_available("win32", opener=FakeConsole())
    console = FakeConsole()
    assert terminal.notify("waiting for\nanother\x1b[2J process", platform="win32", opener=console) is True
    assert console.conout.getvalue() == "waiting for another\\x1b[2J process\n"
