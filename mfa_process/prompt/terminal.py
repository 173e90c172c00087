"""The terminal driver: ask on the controlling terminal, never on stdin, stdout or stderr.

botocore pipes a credential_process helper's stdout and stderr, and the JS SDK pipes stdin too, so the
prompt opens the controlling terminal itself: ``/dev/tty`` on POSIX (``O_NOCTTY``, so a process without
one cannot acquire one), the ``CONIN$``/``CONOUT$`` console devices on Windows. :func:`open_console` is
the one place that looks at the platform, and takes the Windows opener as a parameter so both paths are
tested anywhere.

The answer is echoed: a TOTP code is short-lived, and users want to see their typos. One line is read,
at most :data:`MAX_LINE_BYTES` of it kept. From just before the question is shown until the answer is read,
a POSIX terminal is in canonical mode with echo and signals (in case a parent left it raw: a Ctrl-C typed
the moment the question appears must already be a signal), and restored afterwards, also on Ctrl-C.

Background jobs (``aws ... &`` in an interactive shell with job control): reading the terminal from a
background process group would stop the process (SIGTTIN). When the shell itself holds the terminal and
is not reading a command line (it waits, as in ``... & wait``), the prompt takes the terminal's foreground
for itself (SIGTTOU blocked) and hands it back to the shell's group on every way out. Otherwise (the shell
is reading a command line, or another job is in the foreground) the shell and the prompt would both read
the lines typed, so :class:`BackgroundJobError` is raised at once. A shell that edits its line (readline,
zle) has the terminal out of canonical mode; one without line editing (dash, ``bash --noediting``, Emacs'
shell-mode) reads in canonical mode as a waiting shell does, and is told apart by what it is blocked in
(:func:`_shell_waits`).

While waiting for the answer the parent is polled (:mod:`mfa_process.parent`): when the client that asked
stopped waiting, the prompt ends at once (:class:`ClientGone`), terminal restored.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, Final, Protocol

from mfa_process.errors import BackgroundJobError, ClientGone, NoTerminalError, PromptCancelled

#: Bytes of an answer line kept; the rest of a longer line is read and discarded.
MAX_LINE_BYTES: Final = 256
#: Seconds between two looks at the parent while waiting for an answer.
POLL_SECONDS: Final = 0.25

#: Whether this run showed a prompt on the terminal, and whether that prompt's line got its outcome.
_prompt_line = {"shown": False, "finished": False}

#: Opens a Windows console device; ``open`` in production.
Opener = Callable[..., IO[str]]


class Console(Protocol):
    """An open terminal."""

    def write(self, text: str) -> None:
        """Write ``text`` now (unbuffered)."""

    def readline(self, abandoned: Callable[[], bool] | None = None) -> str:
        """Read one line, ending in ``"\\n"`` unless input ended first; ``""`` at end of input.

        :class:`ClientGone` as soon as *abandoned* says so (where the console can poll).
        """

    def take_foreground(self) -> Callable[[], None]:
        """Make the terminal readable by this process (see the module docstring); return how to undo it."""

    def line_mode(self) -> Callable[[], None]:
        """Line editing, echo and Ctrl-C on, whatever mode a parent left; return how to undo it.

        Set before the question is shown: a key typed the moment it appears is then read in this mode.
        """

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


def prompt(
    message: str,
    *,
    platform: str | None = None,
    opener: Opener = open,
    abandoned: Callable[[], bool] | None = None,
) -> str:
    """Show ``message`` on the terminal and return the line typed (without its newline).

    *abandoned* (default: :func:`mfa_process.parent.gone`) is polled while waiting for the answer.
    """
    from mfa_process.voice import clean

    if abandoned is None:
        from mfa_process.parent import gone as abandoned
    console = open_console(platform, opener=opener)
    try:
        give_back = console.take_foreground()
        restore_mode = console.line_mode()
        try:
            console.write(clean(message, lines=True))
            _prompt_line.update(shown=True, finished=False)
            line = console.readline(abandoned)
        except KeyboardInterrupt:
            _end_line(console, " cancelled")  # after the echoed ^C
            raise PromptCancelled("MFA code prompt cancelled (Ctrl-C)") from None
        except ClientGone:
            _end_line(console)
            raise
        finally:
            restore_mode()
            give_back()
        if not line:
            _end_line(console, "cancelled")
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


def _end_line(console: Console, outcome: str = "") -> None:
    """End the prompt's line (after the ``^C``/``^D`` the user typed) with *outcome*, if any."""
    with contextlib.suppress(OSError):
        console.write(f"{outcome}\n")
    _prompt_line["finished"] = bool(outcome)


def session_terminal() -> int | None:
    """An id of this process's controlling terminal (its session's id), or ``None`` without one.

    Two processes with a controlling terminal share it exactly when they are in the same session.
    """
    if sys.platform == "win32":
        return None
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return None
    return os.getsid(0)


def after_failure(message: str, *, client_gone: bool = False, stderr_fd: int = 2) -> None:
    """Show a failure on the terminal too when stderr may not reach the user; never a second time there.

    Nothing when stderr is this terminal. Otherwise: the whole line when stderr goes nowhere (closed,
    ``/dev/null``) or the client stopped waiting; after a prompt this run showed, whose line has no
    outcome yet, its short form (up to the first ``;``), since the client may swallow stderr.
    """
    if _is_this_terminal(stderr_fd):
        return
    if client_gone or _goes_nowhere(stderr_fd):
        notify(message)
    elif _prompt_line["shown"] and not _prompt_line["finished"]:
        notify(message.split("; ", 1)[0])


def _is_this_terminal(fd: int) -> bool:
    """Whether *fd* is this process's controlling terminal (``tcgetpgrp`` fails on any other file)."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return os.isatty(fd)
    try:
        os.tcgetpgrp(fd)
    except OSError:
        return False
    return True


def _goes_nowhere(fd: int) -> bool:
    """Whether what is written to *fd* is lost: the descriptor is closed, or it is the null device."""
    import stat

    if fd == 2 and sys.stderr is None:  # closed when Python started (the descriptor may be reused since)
        return True
    try:
        info = os.fstat(fd)
    except OSError:
        return True
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == null.st_rdev


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

    def take_foreground(self) -> Callable[[], None]:
        try:
            foreground = os.tcgetpgrp(self._fd)
        except OSError:
            return _nothing
        own = os.getpgrp()
        if foreground == own:
            return _nothing
        if foreground != os.getsid(0):
            raise BackgroundJobError("another job is in the terminal's foreground")
        if not _shell_waits(self._fd, foreground):
            raise BackgroundJobError("the shell is reading a command line")
        with _sigttou_blocked():
            try:
                os.tcsetpgrp(self._fd, own)
            except OSError as exc:
                raise BackgroundJobError(f"cannot take the terminal ({exc.strerror})") from None

        def give_back() -> None:
            with _sigttou_blocked(), contextlib.suppress(OSError):
                os.tcsetpgrp(self._fd, foreground)

        return give_back

    def line_mode(self) -> Callable[[], None]:
        return _line_mode(self._fd)

    def readline(self, abandoned: Callable[[], bool] | None = None) -> str:
        kept, ended = bytearray(), False
        while not ended:
            self._wait_readable(abandoned)
            chunk = os.read(self._fd, MAX_LINE_BYTES)
            if not chunk:
                break
            end = chunk.find(b"\n")
            ended = end >= 0
            room = MAX_LINE_BYTES - len(kept)
            kept += chunk[: end if ended else len(chunk)][:room]
        return kept.decode("utf-8", "replace") + ("\n" if ended else "")

    def _wait_readable(self, abandoned: Callable[[], bool] | None) -> None:
        """Return once a read will not block; :class:`ClientGone` as soon as *abandoned* says so."""
        if abandoned is None:
            return
        import select

        while not select.select([self._fd], [], [], POLL_SECONDS)[0]:
            if abandoned():
                raise ClientGone  # the caller, who knows the profile, says what to do

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _nothing() -> None:
    """Nothing to undo."""


#: What ``/proc/PID/wchan`` shows for a process blocked reading its terminal: the tty read sleeps in
#: ``wait_woken`` (``n_tty_read`` before Linux 3.19). A shell waiting for its jobs shows ``do_wait`` (bash,
#: ``wait4``) or ``sigsuspend`` (zsh, dash).
READING_TERMINAL = frozenset({"wait_woken", "n_tty_read"})


def wchan(pid: int) -> str | None:
    """The kernel function process *pid* sleeps in (its ``/proc/PID/wchan``, without a compiler suffix such as
    ``.isra.0``), or None where that is not known (not Linux, not ours to read, not sleeping)."""
    try:
        with open(f"/proc/{pid}/wchan", "rb") as source:
            name = source.read(128).decode("ascii", "replace").strip()
    except OSError:
        return None
    return name.split(".", 1)[0] if name and name != "0" else None


def _shell_waits(fd: int, shell: int, blocked_in: Callable[[int], str | None] = wchan) -> bool:
    """Whether the *shell* holding terminal *fd* waits for its jobs, rather than reading a command line.

    A shell editing its line has the terminal out of canonical mode or echo. In canonical mode with echo it
    either waits (``... & wait``) or reads a line without line editing; it reads when it is blocked reading
    the terminal. Where that is unknown, canonical mode with echo counts as waiting.
    """
    import termios

    try:
        lflag = termios.tcgetattr(fd)[3]
    except termios.error:
        return False
    if not (lflag & termios.ICANON and lflag & termios.ECHO):
        return False
    return blocked_in(shell) not in READING_TERMINAL


@contextlib.contextmanager
def _sigttou_blocked() -> Iterator[None]:
    """Block SIGTTOU, so a background process may change the terminal's foreground group."""
    import signal

    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


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

    def take_foreground(self) -> Callable[[], None]:
        return _nothing

    def line_mode(self) -> Callable[[], None]:
        return _nothing

    def readline(self, abandoned: Callable[[], bool] | None = None) -> str:
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
