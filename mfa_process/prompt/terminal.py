"""The terminal driver: ask on the controlling terminal, never on stdin, stdout or stderr.

botocore pipes a credential_process helper's stdout and stderr, and the JS SDK pipes stdin too, so the
prompt opens the controlling terminal itself: ``/dev/tty`` on POSIX (``O_NOCTTY``, so a process without
one cannot acquire one), the ``CONIN$``/``CONOUT$`` console devices on Windows. :func:`open_console` is
the one place that looks at the platform, and takes the Windows opener as a parameter so both paths are
tested anywhere.

The answer is echoed: a TOTP code is short-lived, and users want to see their typos. One line is read,
at most :data:`MAX_LINE_BYTES` of it kept. While reading, a POSIX terminal is put in canonical mode with
echo and signals (in case a parent left it raw) and restored afterwards, also on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import IO, Final, Protocol

from mfa_process.errors import NoTerminalError, PromptCancelled

#: Bytes of an answer line kept; the rest of a longer line is read and discarded.
MAX_LINE_BYTES: Final = 256

#: Opens a Windows console device; ``open`` in production.
Opener = Callable[..., IO[str]]


class Console(Protocol):
    """An open terminal."""

    def write(self, text: str) -> None:
        """Write ``text`` now (unbuffered)."""

    def readline(self) -> str:
        """Read one line, ending in ``"\\n"`` unless input ended first; ``""`` at end of input."""

    def close(self) -> None:
        """Close the terminal; never raises."""


def open_console(platform: str | None = None, *, opener: Opener = open) -> Console:
    """Open the controlling terminal, or raise :class:`NoTerminalError` saying why not."""
    if (platform or sys.platform) == "win32":
        return _WindowsConsole.open(opener)
    return _PosixTty.open()


def terminal_available(platform: str | None = None, *, opener: Opener = open) -> bool:
    """Whether a terminal can be opened to ask on."""
    try:
        open_console(platform, opener=opener).close()
    except NoTerminalError:
        return False
    return True


def prompt(message: str, *, platform: str | None = None, opener: Opener = open) -> str:
    """Show ``message`` on the terminal and return the line typed (without its newline)."""
    from mfa_process.voice import clean

    console = open_console(platform, opener=opener)
    try:
        try:
            console.write(clean(message, lines=True))
            line = console.readline()
        except KeyboardInterrupt:
            _end_line(console)
            raise PromptCancelled("MFA code prompt cancelled (Ctrl-C)") from None
        if not line:
            _end_line(console)
            raise PromptCancelled("MFA code prompt cancelled (end of input)")
        return line.rstrip("\r\n")
    finally:
        console.close()


def notify(message: str, *, platform: str | None = None, opener: Opener = open) -> bool:
    """Write ``message`` as one line to the terminal, if there is one; whether it was written.

    Control characters are made visible (:func:`mfa_process.voice.clean`), so a notice cannot move the cursor.
    """
    from mfa_process.voice import clean

    try:
        console = open_console(platform, opener=opener)
    except NoTerminalError:
        return False
    try:
        console.write(clean(message) + "\n")
    except OSError:
        return False
    finally:
        console.close()
    return True


def _end_line(console: Console) -> None:
    """Move past the ``^C``/``^D`` the user typed, so the next output starts on a fresh line."""
    with contextlib.suppress(OSError):
        console.write("\n")


class _PosixTty:
    """``/dev/tty``, read and written through one file descriptor."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls) -> _PosixTty:
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise NoTerminalError(f"cannot open /dev/tty: {reason}") from None
        return cls(fd)

    def write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        while data:
            data = data[os.write(self._fd, data) :]

    def readline(self) -> str:
        restore = _line_mode(self._fd)
        try:
            kept, ended = bytearray(), False
            while not ended:
                chunk = os.read(self._fd, MAX_LINE_BYTES)
                if not chunk:
                    break
                end = chunk.find(b"\n")
                ended = end >= 0
                room = MAX_LINE_BYTES - len(kept)
                kept += chunk[: end if ended else len(chunk)][:room]
        finally:
            restore()
        return kept.decode("utf-8", "replace") + ("\n" if ended else "")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _line_mode(fd: int) -> Callable[[], None]:
    """Make ``fd`` a line-editing, echoing terminal where Ctrl-C works; return how to undo that.

    Nothing is changed (and nothing undone) when the mode is already right, the usual case: changing it
    from a background process group would stop the process with SIGTTOU.
    """
    import termios

    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        return lambda: None
    wanted = [*saved]
    wanted[0] |= termios.ICRNL  # Enter ends the line even if a raw-mode parent cleared this
    wanted[1] |= termios.OPOST | termios.ONLCR
    wanted[3] |= termios.ICANON | termios.ECHO | termios.ISIG
    if wanted[:4] == saved[:4]:
        return lambda: None
    try:
        termios.tcsetattr(fd, termios.TCSANOW, wanted)
    except termios.error:
        return lambda: None

    def restore() -> None:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    return restore


class _WindowsConsole:
    """The Windows console input and output devices."""

    def __init__(self, conin: IO[str], conout: IO[str]) -> None:
        self._conin = conin
        self._conout = conout

    @classmethod
    def open(cls, opener: Opener) -> _WindowsConsole:
        try:
            conin = opener("CONIN$", "r", encoding="utf-8", errors="replace")
        except OSError as exc:
            raise NoTerminalError(f"cannot open CONIN$: {exc.strerror or exc}") from None
        try:
            conout = opener("CONOUT$", "w", encoding="utf-8", errors="replace")
        except OSError as exc:
            conin.close()
            raise NoTerminalError(f"cannot open CONOUT$: {exc.strerror or exc}") from None
        return cls(conin, conout)

    def write(self, text: str) -> None:
        self._conout.write(text)
        self._conout.flush()

    def readline(self) -> str:
        line = self._conin.readline(MAX_LINE_BYTES)
        if not line or line.endswith("\n"):
            return line
        while True:  # too long: discard the rest of the line
            rest = self._conin.readline(MAX_LINE_BYTES)
            if not rest:
                return line
            if rest.endswith("\n"):
                return line + "\n"

    def close(self) -> None:
        for stream in (self._conin, self._conout):
            with contextlib.suppress(OSError):
                stream.close()
